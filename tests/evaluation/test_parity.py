"""One answer path: the same questions asked through ``POST /generate`` and through ``rag eval
qa --context retrieved`` get the same answers, citations and refusals (real models: MiniLM and
the shipped adapter, served by default in a fresh data dir)."""

import json

import pytest
from fastapi.testclient import TestClient

from evaluation.qa import evaluate_qa
from models.shipped import shipped_manifest
from retrieval.searcher import open_searcher
from service.app import create_app
from service.keys import Role, create_key

pytestmark = pytest.mark.slow

ARTICLES = {
    "Mill": (
        "The old mill on the Alpha river was built in 1820 by Jane Smith, a local carpenter.",
        [("Who built the old mill?", "Jane Smith"), ("When was the old mill built?", "1820")],
    ),
    "Mountain": (
        "Beta mountain rises 2,400 metres and was first climbed in 1901 by a Swiss team.",
        [("When was Beta mountain first climbed?", "1901"), ("How high is Beta mountain?", "2,400 metres")],
    ),
    "Lake": (
        "Gamma lake is fed by three glaciers and holds trout and pike.",
        [("What fish live in Gamma lake?", "trout and pike"), ("What feeds Gamma lake?", "three glaciers")],
    ),
    "Festival": (
        "The Delta jazz festival takes place every July in the old harbour.",
        [
            ("When does the Delta jazz festival take place?", "every July"),
            ("Where is the Delta jazz festival held?", "the old harbour"),
        ],
    ),
}


@pytest.fixture
def squad_file(tmp_path):
    rows = [
        {
            "id": f"{title}-{i}",
            "title": title,
            "context": context,
            "question": question,
            "answers": [answer],
            "answer_start": [context.index(answer)],
        }
        for title, (context, asked) in ARTICLES.items()
        for i, (question, answer) in enumerate(asked)
    ]
    path = tmp_path / "squad.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_generate_and_eval_qa_give_the_same_answers(settings, squad_file, tmp_path, embedder, conn):
    settings = settings.model_copy(update={"shipped_model": True})
    predictions = tmp_path / "predictions.jsonl"
    result = evaluate_qa(settings, squad_file, context="retrieved", predictions_path=predictions, embedder=embedder)
    assert result["model"]["name"] == shipped_manifest()["name"] and result["policy"] == shipped_manifest()["policy"]
    lines = [json.loads(line) for line in predictions.read_text().splitlines()]
    assert any(line["refused"] for line in lines) and any(not line["refused"] for line in lines)

    key = create_key(conn, Role.admin)[1]
    conn.commit()
    app = create_app(settings, searcher=open_searcher(settings, embedder))
    with TestClient(app) as client:
        for line in lines:
            title = line["id"].rsplit("-", 1)[0]
            filters = {"collection": result["collection"]}
            if not line["answerable"]:
                filters["metadata"] = {"article": sorted(t for t in ARTICLES if t != title)}
            body = client.post(
                "/generate",
                json={"query": line["question"], "filters": filters},
                headers={"Authorization": f"Bearer {key}"},
            ).json()
            assert (body["answer"], body["refused"]) == (line["answer"], line["refused"]), line["question"]
            assert [c["n"] for c in body["citations"]] == line["cited"]
            assert [p["text"] for p in body["passages"]] == line["passages"]
            assert body["model"]["id"] == result["model"]["id"]
