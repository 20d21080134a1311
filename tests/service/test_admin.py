"""``POST /admin/delete`` removes what ``rag delete`` removes, for admin keys only."""

from core.db import connection
from ingest.pipeline import ingest_paths
from tests.stand_ins import HashingEmbedder


def _ingest(settings, tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "old").mkdir(parents=True)
    (corpus / "old" / "a.md").write_text("Sourdough rises with wild yeast over many hours.")
    (corpus / "b.md").write_text("pgvector answers nearest-neighbour queries in PostgreSQL.")
    ingest_paths(settings, [corpus], collection="demo", embedder=HashingEmbedder(), show_progress=False)
    return (corpus / "old").resolve().as_uri() + "/"


def _uris(settings) -> list[str]:
    with connection(settings) as conn:
        return [r[0] for r in conn.execute("SELECT uri FROM sources ORDER BY uri")]


def test_an_admin_deletes_sources_by_uri_prefix(client, auth, settings, tmp_path):
    prefix = _ingest(settings, tmp_path)
    response = client.post("/admin/delete", json={"collection": "demo", "sources": [prefix]}, headers=auth["admin"])
    assert response.status_code == 200, response.text
    assert response.json()["sources"] == 1 and response.json()["chunks"] == 1
    assert [uri.rsplit("/", 1)[1] for uri in _uris(settings)] == ["b.md"]


def test_only_an_admin_may_delete(client, auth, settings, tmp_path):
    prefix = _ingest(settings, tmp_path)
    response = client.post("/admin/delete", json={"collection": "demo", "sources": [prefix]}, headers=auth["user"])
    assert response.status_code == 403
    assert len(_uris(settings)) == 2


def test_an_unknown_collection_is_a_404_naming_it(client, auth):
    response = client.post("/admin/delete", json={"collection": "nope"}, headers=auth["admin"])
    assert response.status_code == 404 and "nope" in response.json()["error"]["message"]
