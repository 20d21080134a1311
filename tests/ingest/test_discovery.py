import json

from ingest.discovery import DuplicateInput, FailedInput, SkippedInput, SourceInput, discover, path_uri, uri_patterns
from ingest.pipeline import ingest_paths


def test_folder_is_walked_in_order_with_unknown_and_hidden_files(tmp_path):
    (tmp_path / "b.txt").write_text("b")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.md").write_text("a")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.txt").write_text("x")
    found = list(discover(tmp_path, set(), 10**6))
    assert [type(f) for f in found] == [SourceInput, SkippedInput, SourceInput]
    assert found[0].uri == path_uri(tmp_path / "b.txt") and found[0].load().text == "b"
    assert found[2].mime_type == "text/markdown"


def test_jsonl_rows_are_sources_with_title_uri_and_metadata(tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        json.dumps({"_id": "d1", "title": "Title", "text": "Body."})
        + "\n\n"
        + json.dumps({"id": 7, "text": "Plain.", "metadata": {"lang": "en"}})
        + "\n"
        + "{not json\n"
    )
    rows = list(discover(corpus, set(), 10**6))
    assert rows[0].uri == path_uri(corpus) + "#d1" and rows[0].load().text == "Title\n\nBody."
    assert rows[1].uri.endswith("#7") and rows[1].metadata == {"lang": "en"} and rows[1].load().text == "Plain."
    assert isinstance(rows[2], FailedInput) and rows[2].uri.endswith("#line-4")
    assert rows[0].sha256 != rows[1].sha256


def test_uri_patterns_cover_a_folder_or_a_file_and_its_rows(tmp_path):
    folder = tmp_path / "my_docs"
    folder.mkdir()
    (folder / "c.jsonl").write_text("")
    assert uri_patterns(folder)[0].endswith("/my\\_docs/%")
    exact, rows = uri_patterns(folder / "c.jsonl")
    assert exact.endswith("/my\\_docs/c.jsonl") and rows == exact + "#%"


def _linked_folder(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("A file outside the folder, reached through a link.")
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "real.txt").write_text("The real file inside the folder.")
    (folder / "a_inside.txt").symlink_to(folder / "real.txt")
    (folder / "b_outside.txt").symlink_to(outside)
    (folder / "c_dangling.txt").symlink_to(tmp_path / "gone.txt")
    return folder


def test_links_are_known_by_their_own_path_and_followed_once(tmp_path):
    folder = _linked_folder(tmp_path)
    found = list(discover(folder, set(), 10**6))
    assert [type(item) for item in found] == [SourceInput, DuplicateInput, SourceInput, SkippedInput]
    assert [item.uri for item in found] == [
        path_uri(folder / name) for name in ("real.txt", "a_inside.txt", "b_outside.txt", "c_dangling.txt")
    ]
    assert found[2].load().text == "A file outside the folder, reached through a link."


def test_linked_folder_reruns_and_prunes(small_settings, conn, fake_embedder, tmp_path):
    folder = _linked_folder(tmp_path)

    def run(**kwargs):
        return ingest_paths(
            small_settings, [folder], collection="docs", embedder=fake_embedder, show_progress=False, **kwargs
        )

    first = run()
    assert (first.new, first.duplicates, first.skipped, first.failed) == (2, 1, 1, 0)
    again = run()
    assert (again.new, again.unchanged, again.duplicates, again.failed) == (0, 2, 1, 0)
    (folder / "b_outside.txt").unlink()
    pruned = run(prune=True)
    assert (pruned.pruned, pruned.failed) == (1, 0)
    uris = [r[0] for r in conn.execute("SELECT uri FROM sources")]
    assert uris == [path_uri(folder / "real.txt")]
