import json

from typer.testing import CliRunner

from cli.main import app


def _rag(settings, *args):
    env = {"RAG_DATA_DIR": str(settings.data_dir), "RAG_DATABASE_URL": settings.database_url}
    return CliRunner().invoke(app, list(args), env=env)


def test_search_json_shape_with_filters(settings, corpus):
    result = _rag(
        settings,
        "search",
        "wing lift",
        "--mode",
        "bm25",
        "--k",
        "3",
        "--collection",
        "alpha",
        "--filter",
        "team in (a, b)",
        "--json",
    )
    assert result.exit_code == 0, result.output
    results = json.loads(result.stdout)["results"]
    assert 0 < len(results) <= 3
    for hit in results:
        assert set(hit) == {"chunk_id", "source", "collection", "text", "span", "metadata", "score", "scores", "pages"}
        assert hit["collection"] == "alpha" and hit["metadata"]["team"] in "ab"
        assert hit["scores"] == {"bm25": hit["score"], "dense": None}
        assert len(hit["span"]) == 2


def test_search_prints_readable_results_and_names_bad_filters(settings, corpus):
    shown = _rag(settings, "search", "nozzle", "--mode", "bm25", "--k", "2")
    assert shown.exit_code == 0 and " 1. " in shown.stdout and "file:///docs/" in shown.stdout
    bad = _rag(settings, "search", "nozzle", "--filter", "lang!=en")
    assert bad.exit_code != 0 and "unknown operator '!='" in str(bad.exception)
