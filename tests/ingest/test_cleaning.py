import pytest

from ingest.cleaning import ReadError, clean_text, decode_bytes


def test_utf8_and_bom_decode():
    assert decode_bytes("naïve café".encode()) == "naïve café"
    assert decode_bytes(b"\xef\xbb\xbfhello") == "hello"


def test_other_encodings_are_detected():
    text = "Les données privées sont protégées et chiffrées dans la base. " * 5
    assert decode_bytes(text.encode("cp1252")) == text


def test_binary_is_refused_by_name():
    with pytest.raises(ReadError, match="binary"):
        decode_bytes(b"\x00\x01\x02PK\x03\x04")
    with pytest.raises(ReadError, match="binary"):
        decode_bytes(bytes(range(1, 32)) * 10)


def test_clean_text_normalises_whitespace_and_controls():
    raw = "  Title\r\n\r\n\r\n\r\nfirst\t\tline  \x07with bell\u200b \nsecond\x0c line  "
    assert clean_text(raw) == "Title\n\nfirst line with bell\nsecond line"
