"""PII redaction for what the generation log stores (the user's texts, session id and filter values).

Caught, in this order, each replaced by a tag:
- ``[EMAIL]``: ``name@domain.tld``;
- ``[CARD]``: 13 to 19 digits, optionally grouped by single spaces or dashes (card-like; no
  Luhn check, so any long digit run counts);
- ``[IP]``: dotted IPv4 addresses (each part 0-255) and IPv6 addresses (eight groups, or
  compressed with ``::``);
- ``[PHONE]``: 7 to 15 digits with an optional leading ``+`` and separators (spaces, dots,
  dashes, parentheses), e.g. ``+1 (555) 010-4477``.
Not caught: names, street addresses, dates, numbers of 6 digits or fewer."""

import re
from typing import Any

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_HEX = r"[0-9A-Fa-f]{1,4}"
_PATTERNS = (
    ("[EMAIL]", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b")),
    ("[CARD]", re.compile(r"(?<![\d.])\d(?:[ -]?\d){12,18}(?!\.?\d)")),
    ("[IP]", re.compile(rf"(?<![\d.]){_OCTET}(?:\.{_OCTET}){{3}}(?!\.?\d)")),
    (
        "[IP]",
        re.compile(
            rf"(?<![\w:])(?:{_HEX}:){{7}}{_HEX}(?![\w:])|(?<![\w:])(?:{_HEX}:){{1,6}}:(?:{_HEX}(?::{_HEX})*)?(?![\w:])"
        ),
    ),
    ("[PHONE]", re.compile(r"(?<![\w.])\+?\(?\d(?:[\s().-]{0,2}\d){6,14}(?![\w])")),
)


def redact_pii(text: str) -> str:
    """``text`` with emails, card-like numbers, IP addresses and phone numbers replaced."""
    for tag, pattern in _PATTERNS:
        text = pattern.sub(tag, text)
    return text


def redact_values(value: Any) -> Any:
    """``value`` (JSON-like: dicts, lists, strings) with PII replaced in every string it holds;
    dict keys are names, not user text, and are kept."""
    if isinstance(value, str):
        return redact_pii(value)
    if isinstance(value, dict):
        return {key: redact_values(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_values(item) for item in value]
    return value
