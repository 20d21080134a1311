import json

import pytest
from typer.testing import CliRunner

import ingest.pipeline
from cli.console import load_settings
from cli.main import app
from core.errors import InputError
from ingest.cli import parse_meta


@pytest.fixture
def cli_env(monkeypatch, database_url, tmp_path, fake_embedder):
    monkeypatch.setenv("RAG_DATABASE_URL", database_url)
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(ingest.pipeline, "load_embedder", lambda settings: fake_embedder)
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Hybrid search merges keyword and vector rankings.")
    (folder / "b.md").write_text("# Privacy\n\nHash user identifiers before logging them.")
    return folder


def invoke(*args):
    return CliRunner().invoke(app, list(args))


def test_ingest_json_is_one_document_with_the_documented_shape(cli_env):
    result = invoke("ingest", str(cli_env), "--collection", "docs", "--meta", "team=search", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert set(document) == {"sources", "chunks", "failures", "seconds", "chunks_per_second"}
    assert set(document["sources"]) == {
        "new",
        "changed",
        "unchanged",
        "failed",
        "pruned",
        "skipped",
        "duplicates",
        "near_duplicates",
    }
    assert set(document["chunks"]) == {"added", "removed", "exact_duplicates", "near_duplicates", "source_duplicates"}
    assert all(isinstance(v, int) for group in ("sources", "chunks") for v in document[group].values())
    assert document["sources"]["new"] == 2 and document["failures"] == []


def test_a_failed_source_is_named_and_exits_non_zero(cli_env):
    (cli_env / "broken.pdf").write_bytes(b"%PDF-1.7 nope")
    result = invoke("ingest", str(cli_env), "--json")
    assert result.exit_code == 1
    (failure,) = json.loads(result.stdout)["failures"]
    assert failure["source"].endswith("/broken.pdf") and "PDF" in failure["error"]


def test_max_failed_tolerates_that_many_failures(cli_env):
    (cli_env / "broken.pdf").write_bytes(b"%PDF-1.7 nope")
    (cli_env / "empty.md").write_text(" \n")
    assert invoke("ingest", str(cli_env), "--max-failed", "2", "--json").exit_code == 0
    (cli_env / "other.pdf").write_bytes(b"%PDF-1.7 nope")
    result = invoke("ingest", str(cli_env), "--max-failed", "2")
    assert result.exit_code == 1 and "more than --max-failed 2" in result.output


def test_status_json_lists_collections_and_the_index_build(cli_env):
    invoke("ingest", str(cli_env), "--collection", "docs", "--json")
    document = json.loads(invoke("status", "--json").stdout)
    (collection,) = document["collections"]
    assert collection == {"name": "docs", "sources": 2, "chunks": 2, "searchable_chunks": 2, "duplicates": 0}
    assert document["index_build"]["vector_count"] == 2 and document["schema_version"] >= 4
    assert document["data_dir"].endswith("data")


def test_meta_pairs_are_parsed_and_bad_ones_named():
    assert parse_meta(["team=search", "lang=en=gb"]) == {"team": "search", "lang": "en=gb"}
    with pytest.raises(InputError, match="'oops'"):
        parse_meta(["oops"])


def test_ingest_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("RAG_CHUNK_TOKENS", "48")
    monkeypatch.setenv("RAG_NEAR_DUPLICATE_THRESHOLD", "0.9")
    settings = load_settings()
    assert (settings.chunk_tokens, settings.near_duplicate_threshold) == (48, 0.9)
