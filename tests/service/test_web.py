"""The web app without a browser: the Ask page carries the hooks the browser tests (and users'
scripts) rely on, its static files ship in the package and load nothing from the network, and
the two JSON helpers (``/web/api/me``, ``/web/api/passages/{id}``) answer by the key's role and
collections. The browser itself is exercised in test_web_browser.py (slow)."""

from html.parser import HTMLParser
from pathlib import Path

import pytest

from service.web.passages import stitch
from service.web.routes import PAGES
from tests.service.http_checks import assert_error

WEB = Path(__file__).parents[2] / "service" / "web"


class Elements(HTMLParser):
    """Every start tag as (tag, attributes, the ids of the elements around it)."""

    VOID = {"meta", "link", "input", "br", "img", "hr"}

    def __init__(self, html: str):
        super().__init__()
        self.found: list[tuple[str, dict, list[str]]] = []
        self._open: list[tuple[str, str | None]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.found.append((tag, attributes, [i for _, i in self._open if i]))
        if tag not in self.VOID:
            self._open.append((tag, attributes.get("id")))

    def handle_endtag(self, tag):
        while self._open and self._open.pop()[0] != tag:
            pass

    def select(self, tag: str, *, inside: str | None = None, **attrs: str) -> list[dict]:
        return [
            a
            for t, a, around in self.found
            if t == tag and all(a.get(k) == v for k, v in attrs.items()) and (inside is None or inside in around)
        ]


def get_page(client, path: str) -> Elements:
    response = client.get(path)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    return Elements(response.text)


@pytest.fixture
def page(client) -> Elements:
    return get_page(client, "/")


def test_the_ask_page_carries_the_contract_hooks(page):
    assert page.select("input", name="api_key")
    assert page.select("form", id="ask")
    assert page.select("textarea", name="query", inside="ask")
    assert page.select("button", type="submit", inside="ask")
    assert page.select("div", id="answer", **{"aria-live": "polite"})
    assert page.select("form", id="feedback")
    assert len(page.select("input", type="radio", name="score", inside="feedback")) == 5
    assert page.select("aside", id="passage")


def test_the_search_page_offers_the_modes_and_filters(client):
    search = get_page(client, "/web/search")
    assert search.select("input", name="query", inside="search")
    assert {a["value"] for a in search.select("option", inside="search")} == {"hybrid", "bm25", "dense"}
    for name in ("k", "collection", "uri_prefix", "metadata"):
        assert search.select("input", name=name, inside="search"), name
    assert search.select("ol", id="results") and search.select("aside", id="passage")
    assert search.select("a", href="/web/search", **{"aria-current": "page", "data-requires": "search"})


@pytest.mark.parametrize("path", list(PAGES))
def test_every_form_field_has_a_label(client, path):
    page = get_page(client, path)
    labelled = {a["for"] for a in page.select("label") if "for" in a}
    fields = [a for tag in ("input", "textarea", "select") for a in page.select(tag) if a.get("type") != "radio"]
    assert fields and all(a.get("id") in labelled for a in fields)


@pytest.mark.parametrize("path", list(PAGES))
def test_the_page_loads_its_scripts_and_styles_from_the_app(client, path):
    page = get_page(client, path)
    assets = [a["src"] for a in page.select("script")] + [a["href"] for a in page.select("link", rel="stylesheet")]
    assert len(assets) >= 3  # the stylesheet, app.js and the page's own script
    for asset in assets:
        assert asset.startswith(("/static/", "http://testserver/static/")), asset
        response = client.get(asset)
        assert response.status_code == 200, asset
        kind = "text/css" if asset.endswith(".css") else "javascript"
        assert kind in response.headers["content-type"]


def test_nothing_is_loaded_from_the_network():
    files = [p for p in WEB.rglob("*") if p.suffix in {".html", ".js", ".css"}]
    assert len(files) >= 6
    for path in files:
        text = path.read_text()
        assert "https://" not in text and "http://" not in text and "//cdn" not in text, path


def test_me_names_the_role_and_what_it_may_do(client, auth):
    assert client.get("/web/api/me", headers=auth["reader"]).json()["may"] == ["search"]
    user = client.get("/web/api/me", headers=auth["user"]).json()
    assert user["role"] == "user" and user["may"] == ["search", "generate", "feedback"]
    assert client.get("/web/api/me", headers=auth["demo-only"]).json()["collections"] == ["demo"]


def test_me_refuses_a_bad_key_readably(client):
    assert_error(client.get("/web/api/me", headers={"Authorization": "Bearer nope"}), 401, "unauthorized", "key")
    assert_error(client.get("/web/api/me"), 401, "unauthorized", "missing API key")


def insert_source(conn, collection: str, text: str, spans: list[tuple[int, int]]) -> list[int]:
    """A source of ``collection`` with chunks ``text[start:end]``; returns their ids."""
    source_id = conn.execute(
        "INSERT INTO sources (collection_id, uri, sha256, size_bytes, mime_type, metadata)"
        " SELECT id, %s, 'x', %s, 'text/plain', '{\"lang\": \"en\"}' FROM collections WHERE name = %s RETURNING id",
        (f"file:///{collection}/a.txt", len(text), collection),
    ).fetchone()[0]
    ids = [
        conn.execute(
            "INSERT INTO chunks (source_id, ordinal, char_start, char_end, text, token_count, content_hash)"
            " VALUES (%s, %s, %s, %s, %s, 1, md5(%s)) RETURNING id",
            (source_id, ordinal, start, end, text[start:end], text[start:end]),
        ).fetchone()[0]
        for ordinal, (start, end) in enumerate(spans)
    ]
    conn.commit()
    return ids


TEXT = "Alpha one. Beta two is the cited part. Gamma three ends it."


def test_a_passage_comes_inside_its_source_text_with_its_span(client, auth, conn):
    _, middle, _ = insert_source(conn, "demo", TEXT, [(0, 15), (11, 38), (30, len(TEXT))])
    view = client.get(f"/web/api/passages/{middle}", headers=auth["reader"]).json()
    assert view["context"] == TEXT and view["context_start"] == 0
    start, end = view["mark"]
    assert view["context"][start:end] == "Beta two is the cited part." and view["span"] == [11, 38]
    assert (view["source"], view["collection"], view["metadata"]) == ("file:///demo/a.txt", "demo", {"lang": "en"})
    assert view["more_before"] is False and view["more_after"] is False


def test_a_passage_of_another_collection_is_not_found(client, auth, conn):
    (chunk,) = insert_source(conn, "secret", TEXT, [(0, len(TEXT))])
    assert_error(client.get(f"/web/api/passages/{chunk}", headers=auth["demo-only"]), 404, "not_found", "chunk_id")
    assert client.get(f"/web/api/passages/{chunk}", headers=auth["admin"]).status_code == 200
    assert_error(client.get("/web/api/passages/999999", headers=auth["admin"]), 404, "not_found")
    assert client.get("/web/api/passages/0", headers=auth["admin"]).status_code == 422


def test_stitch_writes_overlaps_once_and_fills_gaps():
    assert stitch([]) == (0, "")
    assert stitch([(5, 10, "hello"), (8, 14, "lo wor"), (16, 18, "ld")]) == (5, "hello wor  ld")
    assert stitch([(0, 10, "abcdefghij"), (2, 4, "cd")]) == (0, "abcdefghij")


def test_the_web_routes_stay_out_of_the_openapi_schema(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert paths and not [path for path in paths if path.startswith("/web") or path == "/"]
