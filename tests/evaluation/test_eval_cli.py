"""``rag eval retrieval`` end to end on a four-document BEIR folder, from an empty data dir.

BM25 figures by hand: "shock wave reflection" matches only d1 (graded 2; d4, graded 1, shares
no term): DCG = 2 / log2(2) = 2, IDCG = 2 + 1 / log2(3) = 2.6309, nDCG@10 = 0.7602,
Recall@100 = 1/2, MRR@10 = 1. "propeller slipstream" matches only d3, which is not relevant
(d2 is): all three are 0. Means: nDCG@10 0.3801, Recall@100 0.25, MRR@10 0.5."""

import json

import pytest
from typer.testing import CliRunner

from cli.main import app

CORPUS = [
    {"_id": "d1", "title": "Shock waves", "text": "supersonic shock wave reflection on a wedge"},
    {"_id": "d2", "title": "Boundary layers", "text": "laminar boundary layer heat transfer on a flat plate"},
    {"_id": "d3", "title": "Propellers", "text": "propeller slipstream effect on wing lift"},
    {"_id": "d4", "title": "Stagnation", "text": "hypersonic heating near a stagnation point"},
]
QUERIES = {"1": "shock wave reflection", "2": "propeller slipstream"}
QRELS = {"1": {"d1": 2, "d4": 1}, "2": {"d2": 1}}


@pytest.mark.slow
def test_eval_retrieval_json_from_an_empty_data_dir(settings, tmp_path, write_beir):
    folder = write_beir(tmp_path / "tiny", CORPUS, QUERIES, QRELS)
    env = {"RAG_DATA_DIR": str(settings.data_dir), "RAG_DATABASE_URL": settings.database_url, "HF_HUB_OFFLINE": "1"}
    result = CliRunner().invoke(app, ["eval", "retrieval", "--beir", str(folder), "--json"], env=env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report) == {"bm25", "dense", "hybrid"}
    assert report["bm25"] == {"ndcg@10": pytest.approx(0.3801, abs=1e-4), "recall@100": 0.25, "mrr@10": 0.5}
    for figures in report.values():
        assert set(figures) == {"ndcg@10", "recall@100", "mrr@10"}
        assert all(0 <= value <= 1 for value in figures.values())
    again = CliRunner().invoke(app, ["eval", "retrieval", "--beir", str(folder), "--mode", "bm25", "--json"], env=env)
    assert json.loads(again.stdout) == {"bm25": report["bm25"]}


def test_eval_rejects_an_unknown_synthetic_choice_before_ingesting(tmp_path, write_beir):
    folder = write_beir(tmp_path / "tiny", CORPUS, QUERIES, QRELS)
    env = {"RAG_DATA_DIR": str(tmp_path / "data")}
    result = CliRunner().invoke(app, ["eval", "retrieval", "--beir", str(folder), "--synthetic", "skip"], env=env)
    assert result.exit_code != 0 and "unknown --synthetic 'skip'" in str(result.exception)
    assert not (tmp_path / "data").exists()
