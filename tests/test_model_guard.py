"""The model guard (``tests/model_guard.py``): in a test not marked slow, loading real weights
fails with the test's name and the fix, through any binding; a tiny model a test saved loads."""

import pytest

from tests.model_guard import _ModelGuard
from tests.training.finetune_fixtures import tiny_model, tiny_tokenizer

FIX = "is not marked slow: mark it @pytest.mark.slow or pass a stand-in"


@pytest.fixture
def refused_on_purpose():
    """The loads this test provokes are not failures of it."""
    yield
    _ModelGuard.refused.clear()


def test_a_tiny_saved_model_loads(tmp_path):
    from transformers import AutoModelForCausalLM

    tiny_model(tiny_tokenizer()).save_pretrained(tmp_path / "tiny")
    assert AutoModelForCausalLM.from_pretrained(tmp_path / "tiny") is not None


def test_real_weights_are_refused_whatever_the_binding(settings, refused_on_purpose):
    from sentence_transformers import SentenceTransformer
    from transformers import LlamaForCausalLM

    from models.embedder import embedder_model_dir, load_embedder
    from models.generator import base_gguf_path, ensure_base_model
    from models.shipped import SHIPPED_DIR

    name = "test_model_guard.py::test_real_weights_are_refused_whatever_the_binding"
    with pytest.raises(pytest.fail.Exception, match=f"{name} loads a real model \\(SentenceTransformer.*{FIX}"):
        load_embedder(settings)
    with pytest.raises(pytest.fail.Exception, match=FIX):
        SentenceTransformer(str(embedder_model_dir()))
    with pytest.raises(pytest.fail.Exception, match="GGUF conversion"):
        ensure_base_model(settings)
    with pytest.raises(pytest.fail.Exception, match="LlamaForCausalLM.from_pretrained"):
        LlamaForCausalLM.from_pretrained(base_gguf_path().parent, gguf_file=base_gguf_path().name)
    with pytest.raises(pytest.fail.Exception, match=str(SHIPPED_DIR)):
        from peft import PeftModel

        PeftModel.from_pretrained(tiny_model(tiny_tokenizer()), SHIPPED_DIR)
    assert len(_ModelGuard.refused) == 5 and not (settings.models_dir / "base").exists()


@pytest.mark.slow
def test_a_slow_test_may_load_them(settings):
    from models.embedder import load_embedder

    assert load_embedder(settings).dimension == 384
