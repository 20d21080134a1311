"""Whole sources that nearly duplicate another (a one-word edit that moves every chunk
boundary, a replaced last paragraph) through the pipeline, against a real embedded Postgres,
with the hashing stand-in embedder."""

import numpy as np
import pytest

from index.faiss_index import FaissIndex
from ingest.delete import delete_from_collection
from ingest.status import ingest_status
from tests.ingest.conftest import assert_stores_agree, write
from tests.ingest.ingesting import run
from tests.ingest.prose import CHUNKING, DOCUMENT, NEW_PARAGRAPH, ONE_WORD_EDIT, PARAGRAPH_EDIT


@pytest.fixture
def prose_settings(small_settings):
    return small_settings.model_copy(update=CHUNKING)


def chunks_of(conn, name):
    """(id, text, searchable, duplicate kind, original's uri, similarity) of a source's chunks, in order."""
    return conn.execute(
        "SELECT c.id, c.text, c.embedding IS NOT NULL, d.kind, o.uri, d.similarity FROM chunks c"
        " JOIN sources s ON s.id = c.source_id LEFT JOIN duplicates d ON d.chunk_id = c.id"
        " LEFT JOIN chunks oc ON oc.id = d.original_chunk_id LEFT JOIN sources o ON o.id = oc.source_id"
        " WHERE s.uri LIKE %s ORDER BY c.ordinal",
        ("%/" + name,),
    ).fetchall()


def found_in(settings, conn, embedder, query, k=3):
    """The file names of the sources of the top ``k`` FAISS hits for ``query``."""
    (hits,) = FaissIndex.load(settings).search(embedder.embed([query]), k)
    return [
        conn.execute("SELECT s.uri FROM chunks c JOIN sources s ON s.id = c.source_id WHERE c.id = %s", (chunk_id,))
        .fetchone()[0]
        .rsplit("/", 1)[1]
        for chunk_id, _ in hits
    ]


@pytest.mark.parametrize("same_run", [True, False], ids=["same-run", "later-run"])
def test_a_one_word_edit_that_moves_chunk_boundaries_is_a_source_near_duplicate(
    prose_settings, conn, fake_embedder, tmp_path, same_run
):
    folder = tmp_path / "docs"
    write(folder / "a.txt", DOCUMENT)
    if not same_run:
        run(prose_settings, fake_embedder, [folder])
    write(folder / "b-edited.txt", ONE_WORD_EDIT)
    report = run(prose_settings, fake_embedder, [folder])

    copy, original = chunks_of(conn, "b-edited.txt"), chunks_of(conn, "a.txt")
    assert {text for _, text, *_ in copy}.isdisjoint(text for _, text, *_ in original)  # boundaries moved
    assert report.near_duplicate_sources == 1 and report.source_duplicates == len(copy) > 2
    assert report.to_json()["sources"]["near_duplicates"] == 1
    assert report.to_json()["chunks"]["source_duplicates"] == len(copy)
    assert all(
        not searchable and kind == "source" and uri.endswith("/a.txt") and similarity >= 0.8
        for _, _, searchable, kind, uri, similarity in copy
    )
    assert all(searchable for _, _, searchable, *_ in original)
    (match,) = conn.execute(
        "SELECT s.uri, o.uri, d.similarity, d.ingest_run_id FROM source_duplicates d"
        " JOIN sources s ON s.id = d.source_id JOIN sources o ON o.id = d.original_source_id"
    ).fetchall()
    assert match[0].endswith("/b-edited.txt") and match[1].endswith("/a.txt") and match[2] >= 0.9
    assert match[3] == report.run_id
    for paragraph in DOCUMENT.split("\n\n"):  # the content is found once, in the original
        assert set(found_in(prose_settings, conn, fake_embedder, paragraph)) == {"a.txt"}
    assert_stores_agree(prose_settings, conn)
    status = {c["name"]: c for c in ingest_status(conn, prose_settings)["collections"]}["docs"]
    assert status["duplicates"] == len(copy) and status["searchable_chunks"] == len(original)


def test_a_replaced_paragraph_stays_searchable_in_a_near_duplicate_source(
    prose_settings, conn, fake_embedder, tmp_path
):
    folder = tmp_path / "docs"
    write(folder / "a.txt", DOCUMENT)
    run(prose_settings, fake_embedder, [folder])
    write(folder / "b-new-ending.txt", PARAGRAPH_EDIT)
    report = run(prose_settings, fake_embedder, [folder])

    assert report.near_duplicate_sources == 1
    copy = chunks_of(conn, "b-new-ending.txt")
    searchable = [text for _, text, is_searchable, *_ in copy if is_searchable]
    assert len(searchable) == 1 and NEW_PARAGRAPH in searchable[0]
    assert found_in(prose_settings, conn, fake_embedder, NEW_PARAGRAPH, k=1) == ["b-new-ending.txt"]
    assert all(kind in ("exact", "source") for _, _, is_searchable, kind, *_ in copy if not is_searchable)
    assert_stores_agree(prose_settings, conn)


@pytest.mark.parametrize("how", ["prune", "rag delete"])
def test_deleting_the_original_source_promotes_its_near_duplicate(prose_settings, conn, fake_embedder, tmp_path, how):
    folder = tmp_path / "docs"
    write(folder / "a.txt", DOCUMENT)
    write(folder / "b-edited.txt", ONE_WORD_EDIT)
    run(prose_settings, fake_embedder, [folder])
    assert all(kind == "source" for *_, kind, _, _ in chunks_of(conn, "b-edited.txt"))

    if how == "prune":
        (folder / "a.txt").unlink()
        run(prose_settings, fake_embedder, [folder], prune=True)
    else:
        delete_from_collection(prose_settings, "docs", [str(folder / "a.txt")], fake_embedder)

    copy = chunks_of(conn, "b-edited.txt")
    assert all(searchable and kind is None for _, _, searchable, kind, *_ in copy)
    vectors = [
        r[0].to_numpy()
        for r in conn.execute(
            "SELECT c.embedding FROM chunks c JOIN sources s ON s.id = c.source_id WHERE s.uri LIKE '%%/b-edited.txt'"
            " ORDER BY c.ordinal"
        )
    ]
    np.testing.assert_allclose(vectors, fake_embedder.embed([text for _, text, *_ in copy]), atol=1e-6)  # its own
    assert conn.execute(
        "SELECT (SELECT count(*) FROM duplicates), (SELECT count(*) FROM source_duplicates)"
    ).fetchone() == (0, 0)
    for paragraph in ONE_WORD_EDIT.split("\n\n"):
        assert found_in(prose_settings, conn, fake_embedder, paragraph, k=1) == ["b-edited.txt"]
    assert_stores_agree(prose_settings, conn)
    status = {c["name"]: c for c in ingest_status(conn, prose_settings)["collections"]}["docs"]
    assert (status["sources"], status["duplicates"], status["searchable_chunks"]) == (1, 0, len(copy))
