"""Text cleaning, a pure function: decode bytes, then normalise whitespace and drop control
characters. Chunk spans point into the cleaned text, so cleaning runs exactly once."""

import re
import unicodedata

from charset_normalizer import from_bytes

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0]+")
_TRAILING = re.compile(r" *\n *")
_BLANK_LINES = re.compile(r"\n{3,}")
_MAX_CONTROL_RATIO = 0.05  # more control characters than this in decoded text means binary


class ReadError(Exception):
    """A source that cannot be turned into text; the message is the reason shown to the user."""


# Byte order marks, longest first (the UTF-32 LE mark starts with the UTF-16 LE one).
_BOMS = [
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
]
_EXPECTED_SINGLE_BYTE = ["cp1252", "latin_1"]  # what a user's non-UTF-8 text most likely is


def decode_bytes(data: bytes) -> tuple[str, str]:
    """The text and the encoding used: a BOM's, else UTF-8, else cp1252/Latin-1 when they
    read the bytes cleanly, else charset-normalizer's guess. Binary data is refused."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return _refuse_binary(data[len(bom) :].decode(encoding)), encoding
            except UnicodeDecodeError:
                raise ReadError(f"bytes invalid for {encoding} despite its byte order mark") from None
    if b"\x00" in data:
        raise ReadError("binary content (NUL bytes); expected a text file")
    try:
        return _refuse_binary(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    # A detector's guess among single-byte code pages is weak evidence (Latin-1 French is
    # guessed cp1250); only a decoding that cp1252/Latin-1 cannot read cleanly overrides them.
    match = from_bytes(data, cp_isolation=_EXPECTED_SINGLE_BYTE).best() or from_bytes(data).best()
    if match is None:
        raise ReadError("undecodable bytes: not UTF-8 and no other encoding detected")
    return _refuse_binary(str(match)), match.encoding


def _refuse_binary(text: str) -> str:
    controls = len(_CONTROL.findall(text))
    if text and controls / len(text) > _MAX_CONTROL_RATIO:
        raise ReadError(f"binary content ({controls} control characters); expected a text file")
    return text


def clean_pages(pages: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """Each page cleaned on its own and joined by a blank line, with (start offset, page
    number from 1) of every page that kept text, so offsets into the result are exact."""
    parts, starts, offset = [], [], 0
    for number, page in enumerate(pages, start=1):
        cleaned = clean_text(page)
        if cleaned:
            offset += 2 if parts else 0
            starts.append((offset, number))
            parts.append(cleaned)
            offset += len(cleaned)
    return "\n\n".join(parts), starts


def clean_text(text: str) -> str:
    """NFC, unix newlines, no control characters, single spaces, at most one blank line."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    text = _SPACES.sub(" ", text)
    text = _TRAILING.sub("\n", text)
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()
