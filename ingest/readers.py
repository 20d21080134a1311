"""One reader per file format: bytes in, raw text out (``clean_text`` runs afterwards).
A reader raises ``ReadError`` with a reason the user can act on."""

import io
import logging
from collections.abc import Callable

from ingest.cleaning import ReadError, decode_bytes

Reader = Callable[[bytes], str]


def read_plain(data: bytes) -> str:
    return decode_bytes(data)


def read_html(data: bytes) -> str:
    import trafilatura

    text = trafilatura.extract(decode_bytes(data), include_comments=False, include_tables=True, favor_recall=True)
    if not text:
        raise ReadError("no main text found in the HTML")
    return text


def read_pdf(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        return "\n\n".join(page.extract_text() or "" for page in reader.pages)
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise ReadError(f"unreadable PDF ({type(exc).__name__}: {exc})") from exc


# Suffix -> (mime type, reader). JSONL is not here: a JSONL file is a corpus of sources.
READERS: dict[str, tuple[str, Reader]] = {
    ".txt": ("text/plain", read_plain),
    ".md": ("text/markdown", read_plain),
    ".markdown": ("text/markdown", read_plain),
    ".html": ("text/html", read_html),
    ".htm": ("text/html", read_html),
    ".pdf": ("application/pdf", read_pdf),
}
JSONL_SUFFIXES = {".jsonl"}
JSONL_MIME = "application/jsonl"
