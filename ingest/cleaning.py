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


def decode_bytes(data: bytes) -> str:
    """UTF-8 first, then the encoding charset-normalizer detects; binary data is refused."""
    if b"\x00" in data:
        raise ReadError("binary content (NUL bytes); expected a text file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        match = from_bytes(data).best()
        if match is None:
            raise ReadError("undecodable bytes: not UTF-8 and no other encoding detected") from None
        text = str(match)
    controls = len(_CONTROL.findall(text))
    if text and controls / len(text) > _MAX_CONTROL_RATIO:
        raise ReadError(f"binary content ({controls} control characters); expected a text file")
    return text


def clean_text(text: str) -> str:
    """NFC, unix newlines, no control characters, single spaces, at most one blank line."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    text = _SPACES.sub(" ", text)
    text = _TRAILING.sub("\n", text)
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()
