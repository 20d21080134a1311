import pytest

from answering.redact import redact_pii


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail jane.doe+x@example.co.uk now", "mail [EMAIL] now"),
        ("card 4111 1111 1111 1111 ok", "card [CARD] ok"),
        ("card 4111-1111-1111-1111.", "card [CARD]."),
        ("from 192.168.0.1, then", "from [IP], then"),
        ("v6 2001:db8::8a2e:370:7334 and fe80::1", "v6 [IP] and [IP]"),
        ("call +1 (555) 010-4477 or 555.010.4477", "call [PHONE] or [PHONE]"),
    ],
)
def test_each_kind_is_redacted(text, expected):
    assert redact_pii(text) == expected


@pytest.mark.parametrize(
    "text", ["in 1998 there were 250 people", "version 3.2.1 at 12:30:45", "pi is 3.14159, zip 123456", "[3] cites"]
)
def test_ordinary_numbers_stay(text):
    assert redact_pii(text) == text
