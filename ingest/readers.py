"""One reader per file format: bytes in, raw text out (``clean_text`` runs afterwards).
A reader raises ``ReadError`` with a reason the user can act on; ``read`` turns any other
exception a reader's library raises into one, so a broken file fails alone, by name."""

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from ingest.cleaning import ReadError, decode_bytes


@dataclass(frozen=True)
class ReadText:
    """A reader's raw text, one item per page (one item in all for a format without pages),
    and what to record in the source's metadata (the encoding)."""

    pages: list[str]
    metadata: dict[str, object] = field(default_factory=dict)
    paged: bool = False

    @property
    def text(self) -> str:
        return "\n\n".join(self.pages)


Reader = Callable[[bytes], ReadText]


def read(reader: Reader, data: bytes) -> ReadText:
    """``reader(data)``; any exception becomes a ``ReadError`` naming its type."""
    try:
        return reader(data)
    except ReadError:
        raise
    except Exception as exc:  # the boundary: a library's bug or limit must not end the run
        raise ReadError(f"the reader failed ({type(exc).__name__}: {exc})") from exc


def read_plain(data: bytes) -> ReadText:
    text, encoding = decode_bytes(data)
    return ReadText([text], {"encoding": encoding})


def read_html(data: bytes) -> ReadText:
    import trafilatura

    html, encoding = decode_bytes(data)
    text = trafilatura.extract(html, include_comments=False, include_tables=True, favor_recall=True)
    if not text:
        raise ReadError("no main text found in the HTML")
    return ReadText([text], {"encoding": encoding})


def read_pdf(data: bytes) -> ReadText:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        return ReadText([page.extract_text() or "" for page in reader.pages], paged=True)
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
