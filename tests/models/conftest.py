"""The SmolLM2 base: its tokenizer alone (read from the GGUF file), and the converted model
shared by the slow tests of this folder."""

import pytest

from core.settings import Settings
from models.generator import base_gguf_path, ensure_base_model, load_generator, load_gguf_tokenizer


@pytest.fixture(scope="session")
def base_tokenizer():
    return load_gguf_tokenizer(base_gguf_path())


@pytest.fixture(scope="session")
def base_settings(tmp_path_factory) -> Settings:
    """A data dir holding the converted base model."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("generator"))
    ensure_base_model(settings)
    return settings


@pytest.fixture(scope="session")
def base_generator(base_settings):
    return load_generator(base_settings, ensure_base_model(base_settings))
