"""Follow-up questions in a session, rewritten into a standalone query for retrieval.

The rule: a question is a follow-up when it has a pronoun or a pointing word ("it", "they",
"that", "there", ...) or at most three key terms. Its standalone form is the question followed
by the previous turn's key terms that it does not already contain (the previous turn's own
standalone form, so the subject of a chain of follow-ups carries forward). Key terms are words
of 3+ letters that are not stop words. Anything else is left as asked."""

import re

_WORD = re.compile(r"[A-Za-z0-9][\w'-]*")
_POINTING = frozenset(
    "it its it's they them their theirs this that these those he him his she her hers there then"
    " such same one ones former latter".split()
)
_STOP = (
    frozenset(
        "a an and are as at be been being but by can could did do does doing for from had has have how"
        " i if in into is was were what when where which who whom whose why will with would about after"
        " also any before between both each few more most much many no nor not now of off on once only or"
        " other our out over own so some than the then too under until up very we you your me my tell"
        " explain describe give list show please should may might must shall".split()
    )
    | _POINTING
)
_MAX_SHORT_TERMS = 3


def key_terms(text: str) -> list[str]:
    """The words of ``text`` worth searching for, in order, without repeats."""
    terms: list[str] = []
    for word in _WORD.findall(text):
        lowered = word.lower()
        if len(lowered) >= 3 and lowered not in _STOP and lowered not in (t.lower() for t in terms):
            terms.append(word)
    return terms


def is_follow_up(question: str) -> bool:
    words = {w.lower() for w in _WORD.findall(question)}
    return bool(words & _POINTING) or len(key_terms(question)) <= _MAX_SHORT_TERMS


def rewrite_follow_up(question: str, previous: str | None) -> str:
    """The standalone query for ``question`` given the previous turn's standalone query."""
    question = question.strip()
    if not previous or not is_follow_up(question):
        return question
    present = {t.lower() for t in key_terms(question)}
    carried = [t for t in key_terms(previous) if t.lower() not in present]
    return f"{question} {' '.join(carried)}" if carried else question
