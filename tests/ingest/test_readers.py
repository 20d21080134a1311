import io

import pytest

from ingest.cleaning import ReadError
from ingest.readers import READERS, read_html, read_pdf, read_plain


def _pdf(text: str) -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, text)
    page.save()
    return buffer.getvalue()


def test_plain_and_markdown():
    assert read_plain(b"# Title\n\nbody") == "# Title\n\nbody"
    assert READERS[".md"][1] is read_plain


def test_html_keeps_the_main_text():
    html = (
        b"<html><head><title>t</title><script>var x = 1;</script></head><body>"
        b"<article><h1>Hybrid search</h1><p>Hybrid search fuses BM25 and vector rankings.</p></article>"
        b"</body></html>"
    )
    text = read_html(html)
    assert "Hybrid search fuses BM25 and vector rankings." in text and "var x" not in text


def test_pdf_text_is_extracted():
    assert "Vector databases store embeddings" in read_pdf(_pdf("Vector databases store embeddings"))


def test_broken_pdf_fails_with_a_reason():
    with pytest.raises(ReadError, match="unreadable PDF"):
        read_pdf(b"%PDF-1.4 this is not really a pdf")
