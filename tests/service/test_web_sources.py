"""The Sources page's JSON routes: collections with their counts, a collection's sources
(searchable), one source's text in chunk segments with its duplicates named, each limited to
the key's collections; and the page itself."""

import pytest

from service.web.sources import segments
from tests.service.http_checks import assert_error
from tests.service.test_web import TEXT, get_page, insert_source


@pytest.fixture
def corpus(conn):
    """A demo source of three chunks whose last chunk exactly duplicates a secret source's, and
    which nearly duplicates that secret source; a second demo source with metadata team=search."""
    first = insert_source(conn, "demo", TEXT, [(0, 15), (11, 38), (38, len(TEXT))])
    (secret,) = insert_source(conn, "secret", TEXT[38:], [(0, len(TEXT) - 38)])
    conn.execute(
        "INSERT INTO duplicates (kind, chunk_id, original_chunk_id, similarity) VALUES ('exact', %s, %s, 1)",
        (first[2], secret),
    )
    conn.execute(
        "INSERT INTO source_duplicates (source_id, original_source_id, similarity)"
        " SELECT a.source_id, b.source_id, 0.9 FROM chunks a, chunks b WHERE a.id = %s AND b.id = %s",
        (first[0], secret),
    )
    conn.execute(
        "INSERT INTO sources (collection_id, uri, sha256, size_bytes, mime_type, metadata, synthetic)"
        " SELECT id, 'file:///demo/b.md', 'y', 3, 'text/markdown', '{\"team\": \"search\"}', true"
        " FROM collections WHERE name = 'demo'"
    )
    conn.commit()
    source_of = conn.execute("SELECT source_id FROM chunks WHERE id = ANY(%s) ORDER BY id", ([first[0], secret],))
    return dict(zip(("demo", "secret"), (row[0] for row in source_of)))


def test_collections_come_with_their_counts_limited_to_the_key(client, auth, corpus):
    every = client.get("/web/api/collections", headers=auth["reader"]).json()["collections"]
    demo = next(c for c in every if c["name"] == "demo")
    assert (demo["sources"], demo["chunks"], demo["duplicate_chunks"], demo["duplicate_sources"]) == (2, 3, 1, 1)
    assert {c["name"] for c in every} == {"demo", "secret"}
    limited = client.get("/web/api/collections", headers=auth["demo-only"]).json()["collections"]
    assert [c["name"] for c in limited] == ["demo"]


def test_a_collection_lists_its_sources_searchably(client, auth, corpus):
    listed = client.get("/web/api/collections/demo/sources", headers=auth["reader"]).json()
    assert [s["uri"] for s in listed["sources"]] == ["file:///demo/a.txt", "file:///demo/b.md"]
    first, second = listed["sources"]
    assert (first["chunks"], first["near_duplicate"], first["synthetic"]) == (3, True, False)
    assert first["metadata"] == {"lang": "en"}
    assert (second["size_bytes"], second["synthetic"]) == (3, True) and listed["more"] is False
    found = client.get("/web/api/collections/demo/sources?q=TEAM", headers=auth["reader"]).json()["sources"]
    assert [s["uri"] for s in found] == ["file:///demo/b.md"]
    assert client.get("/web/api/collections/demo/sources?q=%25", headers=auth["reader"]).json()["sources"] == []
    paged = client.get("/web/api/collections/demo/sources?limit=1", headers=auth["reader"]).json()
    assert len(paged["sources"]) == 1 and paged["more"] is True


def test_sources_of_another_or_unknown_collection_are_refused(client, auth, corpus):
    forbidden = client.get("/web/api/collections/secret/sources", headers=auth["demo-only"])
    assert_error(forbidden, 403, "forbidden", "may read: demo")
    assert_error(client.get("/web/api/collections/nope/sources", headers=auth["admin"]), 404, "not_found", "nope")
    assert_error(client.get("/web/api/collections", headers={"Authorization": "Bearer x"}), 401, "unauthorized")


def test_a_source_shows_its_text_in_chunks_and_names_its_duplicates(client, auth, corpus):
    view = client.get(f"/web/api/sources/{corpus['demo']}", headers=auth["reader"]).json()
    assert view["text"] == TEXT and "".join(s["text"] for s in view["segments"]) == TEXT
    assert [c["ordinal"] for c in view["chunks"]] == [0, 1, 2]
    duplicate = view["chunks"][2]["duplicate_of"]
    assert duplicate["kind"] == "exact" and duplicate["original_uri"] == "file:///secret/a.txt"
    (near,) = view["near_duplicates"]
    assert (near["relation"], near["uri"], near["source_id"]) == ("original", "file:///secret/a.txt", corpus["secret"])
    secret = client.get(f"/web/api/sources/{corpus['secret']}", headers=auth["reader"]).json()
    assert secret["chunks"][0]["copies"] == 1 and secret["near_duplicates"][0]["relation"] == "copy"


def test_a_limited_key_sees_its_sources_only_and_no_names_from_elsewhere(client, auth, corpus):
    view = client.get(f"/web/api/sources/{corpus['demo']}", headers=auth["demo-only"]).json()
    assert view["chunks"][2]["duplicate_of"]["original_uri"] is None and view["near_duplicates"] == []
    refused = client.get(f"/web/api/sources/{corpus['secret']}", headers=auth["demo-only"])
    assert_error(refused, 404, "not_found", "source_id")
    assert client.get("/web/api/sources/0", headers=auth["admin"]).status_code == 422


def test_segments_give_each_part_of_the_text_once_with_its_chunk():
    chunks = [
        {"id": 1, "char_start": 0, "char_end": 5, "text": "hello"},
        {"id": 2, "char_start": 3, "char_end": 9, "text": "lo wor"},
        {"id": 3, "char_start": 11, "char_end": 13, "text": "ld"},
    ]
    text, parts = segments(chunks)
    assert text == "hello wor  ld"
    assert [(p["chunk_id"], p["text"]) for p in parts] == [(1, "hello"), (2, " wor"), (None, "  "), (3, "ld")]
    assert segments([]) == ("", [])


def test_the_sources_page_has_its_views_and_is_in_the_navigation(client):
    page = get_page(client, "/web/sources")
    for table in ("collections", "sources", "chunks"):
        assert page.select("table", id=table), table
    assert page.select("input", name="q", inside="source-search") and page.select("div", id="source-text")
    assert page.select("a", href="/web/sources", **{"aria-current": "page", "data-requires": "search"})
