import io

import pytest

from ingest.cleaning import ReadError
from ingest.pipeline import ingest_paths
from ingest.readers import READERS, ReadText, read, read_html, read_pdf, read_plain


def _pdf(text: str) -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, text)
    page.save()
    return buffer.getvalue()


def test_plain_and_markdown():
    assert read_plain(b"# Title\n\nbody").text == "# Title\n\nbody"
    assert READERS[".md"][1] is read_plain


def test_html_keeps_the_main_text():
    html = (
        b"<html><head><title>t</title><script>var x = 1;</script></head><body>"
        b"<article><h1>Hybrid search</h1><p>Hybrid search fuses BM25 and vector rankings.</p></article>"
        b"</body></html>"
    )
    text = read_html(html).text
    assert "Hybrid search fuses BM25 and vector rankings." in text and "var x" not in text


def test_pdf_text_is_extracted():
    assert "Vector databases store embeddings" in read_pdf(_pdf("Vector databases store embeddings")).text


def test_broken_pdf_fails_with_a_reason():
    with pytest.raises(ReadError, match="unreadable PDF"):
        read_pdf(b"%PDF-1.4 this is not really a pdf")


def _pdf_with_unsupported_filter() -> bytes:
    """A real PDF whose stream names a filter pypdf does not implement (it raises NotImplementedError)."""
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)  # reportlab's default page compression is ASCII85 then Flate
    page.drawString(72, 720, "A page that no reader can decode.")
    page.save()
    data = buffer.getvalue()
    assert b"/ASCII85Decode" in data
    return data.replace(b"/ASCII85Decode", b"/ASCII15Decode")


def test_any_reader_exception_becomes_a_read_error_naming_its_type():
    with pytest.raises(ReadError, match="NotImplementedError"):
        read(read_pdf, _pdf_with_unsupported_filter())


def test_text_readers_record_the_encoding():
    assert read_plain("très".encode("utf-16")).metadata == {"encoding": "utf-16-le"}
    assert read_plain("très bien".encode("latin-1")) == ReadText(["très bien"], {"encoding": "cp1252"})


def test_a_pdf_the_reader_cannot_decode_fails_alone(small_settings, conn, fake_embedder, tmp_path):
    (tmp_path / "a.txt").write_text("The first good file talks about hybrid search and fusion.")
    (tmp_path / "b.pdf").write_bytes(_pdf_with_unsupported_filter())
    (tmp_path / "c.md").write_text("The second good file talks about dataset versioning.", encoding="latin-1")
    report = ingest_paths(small_settings, [tmp_path], collection="docs", embedder=fake_embedder, show_progress=False)
    assert [(uri.rsplit("/", 1)[1], "NotImplementedError" in error) for uri, error in report.failures] == [
        ("b.pdf", True)
    ]
    stored = dict(conn.execute("SELECT uri, metadata->>'encoding' FROM sources").fetchall())
    assert {uri.rsplit("/", 1)[1]: encoding for uri, encoding in stored.items()} == {"a.txt": "utf-8", "c.md": "utf-8"}


def test_pdf_chunks_know_their_pages(small_settings, conn, fake_embedder, tmp_path):
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    for number in (1, 2, 3):
        pdf.drawString(72, 720, f"Page {number} explains topic {number} in one short sentence.")
        pdf.showPage()
    pdf.save()
    (tmp_path / "book.pdf").write_bytes(buffer.getvalue())
    ingest_paths(small_settings, [tmp_path], collection="docs", embedder=fake_embedder, show_progress=False)
    rows = conn.execute("SELECT text, pages FROM chunks ORDER BY ordinal").fetchall()
    assert rows and all(pages and pages[0] == int(text.split()[1]) for text, pages in rows)
    assert {page for _, pages in rows for page in pages} == {1, 2, 3}
