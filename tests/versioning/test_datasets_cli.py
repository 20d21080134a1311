import json

from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()


def use_database(monkeypatch, settings):
    monkeypatch.setenv("RAG_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("RAG_DATA_DIR", str(settings.data_dir))


def run_json(*args):
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_list_on_an_empty_database_is_an_empty_list(monkeypatch, settings):
    use_database(monkeypatch, settings)
    assert run_json("datasets", "list") == []


def test_record_links_the_collection_then_list_and_show_tell_the_same_story(monkeypatch, settings, world, tmp_path):
    use_database(monkeypatch, settings)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "paris.txt").write_text("Paris is the capital of France.")
    (tmp_path / "params.yaml").write_text("ingest:\n  chunk_tokens: 256\n")
    args = [
        "datasets",
        "record",
        "docs",
        str(docs),
        "--params",
        "ingest",
        "--params-file",
        str(tmp_path / "params.yaml"),
    ]
    recorded = run_json(*args, "--collection", world.collection)
    assert recorded["created"] and recorded["records"] == 1 and recorded["md5"].endswith(".dir")
    assert recorded["params"] == {"ingest": {"chunk_tokens": 256}} and recorded["links"]["collection"]["sources"] == 1
    assert run_json(*args)["created"] is False
    assert [v["id"] for v in run_json("datasets", "list")] == [recorded["id"]]
    shown = run_json("datasets", "show", "docs")
    assert shown["used_by"]["sources"] == 1 and shown["used_by"]["ingest_runs"] == [
        recorded["links"]["collection"]["ingest_run"]
    ]


def test_show_of_an_unknown_name_is_a_clean_error(monkeypatch, settings):
    use_database(monkeypatch, settings)
    result = runner.invoke(app, ["datasets", "show", "nope"])
    assert result.exit_code != 0 and "nope" in str(result.exception or result.output)


def test_plots_rejects_a_qa_file_without_a_label(tmp_path):
    result = runner.invoke(app, ["plots", "--out", str(tmp_path), "--qa", "metrics/qa.json"])
    assert result.exit_code != 0 and "LABEL=FILE" in str(result.exception or result.output)
