import pytest

from ingest.cleaning import ReadError, clean_pages, clean_text, decode_bytes


def test_utf8_and_bom_decode():
    assert decode_bytes("naïve café".encode()) == ("naïve café", "utf-8")
    assert decode_bytes(b"\xef\xbb\xbfhello") == ("hello", "utf-8")


@pytest.mark.parametrize(
    "codec, encoding",
    [
        ("utf-16", "utf-16-le"),
        ("utf-16-be", "utf-16-be"),
        ("utf-32", "utf-32-le"),
    ],
)
def test_byte_order_marks_are_honoured_before_the_binary_check(codec, encoding):
    data = "très bien".encode(codec)
    if codec == "utf-16-be":
        data = b"\xfe\xff" + data
    assert decode_bytes(data) == ("très bien", encoding)


def test_latin1_french_is_not_garbled():
    text = "Il est très content, à la maison. Où est le café?"
    assert decode_bytes(text.encode("latin-1")) == (text, "cp1252")


def test_cp1252_punctuation_and_strong_guesses():
    text = "Smart “quotes” — a dash and €5. " * 3
    assert decode_bytes(text.encode("cp1252")) == (text, "cp1252")
    russian = "Привет, как дела? Это тест русского текста."
    assert decode_bytes(russian.encode("cp1251")) == (russian, "cp1251")


def test_binary_is_refused_by_name():
    with pytest.raises(ReadError, match="binary"):
        decode_bytes(b"\x00\x01\x02PK\x03\x04")
    with pytest.raises(ReadError, match="binary"):
        decode_bytes(bytes(range(1, 32)) * 10)


def test_clean_text_normalises_whitespace_and_controls():
    raw = "  Title\r\n\r\n\r\n\r\nfirst\t\tline  \x07with bell\u200b \nsecond\x0c line  "
    assert clean_text(raw) == "Title\n\nfirst line with bell\nsecond line"


def test_pages_are_cleaned_apart_and_their_offsets_are_exact():
    text, starts = clean_pages(["  First\t page. ", "", "Second\n\n\n\npage."])
    assert text == "First page.\n\nSecond\n\npage."
    assert starts == [(0, 1), (13, 3)]
    assert text[starts[1][0] :].startswith("Second")
