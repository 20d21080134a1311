"""The one grounded-answer prompt template, used unchanged by serving, fine-tuning and
evaluation.

A prompt is the tokenizer's chat template around a short system instruction and a user turn
that lists the passages as ``[1] ...``, ``[2] ...`` then the question; it ends where the
assistant's answer begins. The target an answer is trained towards (``format_answer``) is the
short answer followed by its markers, e.g. ``Saint Bernadette Soubirous [2]``, or exactly
``REFUSAL`` when the passages do not hold the answer.

Changing any wording here changes what a fine-tuned model expects: bump ``version``."""

import re
from dataclasses import dataclass
from typing import Any

REFUSAL = "The passages do not contain the answer."
_REFUSAL_OPENING = "the passages do not"  # "The passages do not mention X" refuses too


@dataclass(frozen=True)
class PromptTemplate:
    id: str
    version: int
    system: str
    user: str  # with {passages} and {question}

    @property
    def text(self) -> str:
        """The template as stored in ``prompt_templates``."""
        return f"system:\n{self.system}\nuser:\n{self.user}"


TEMPLATE = PromptTemplate(
    id="grounded-qa",
    version=1,
    system=(
        "Answer the question using only the numbered passages. Give a short answer, then the "
        f"number of the passage it comes from, like [1]. If the passages do not contain the "
        f"answer, reply exactly: {REFUSAL}"
    ),
    user="{passages}\n\nQuestion: {question}",
)

_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


@dataclass(frozen=True)
class ParsedCitations:
    valid: list[int]  # passage numbers in order of first use, no repeats
    invalid: list[str]  # the markers as written, e.g. "[7]", for passages that were not given


def _valid_marker(match: re.Match, n_passages: int) -> bool:
    return all(1 <= int(part) <= n_passages for part in match.group(1).split(","))


def number_passages(passages: list[str]) -> str:
    return "\n".join(f"[{n}] {' '.join(text.split())}" for n, text in enumerate(passages, start=1))


def render_prompt(question: str, passages: list[str], tokenizer: Any, template: PromptTemplate = TEMPLATE) -> str:
    """The full prompt text, ending where the assistant's answer begins."""
    messages = [
        {"role": "system", "content": template.system},
        {
            "role": "user",
            "content": template.user.format(passages=number_passages(passages), question=question.strip()),
        },
    ]
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def format_answer(answer: str, citations: list[int]) -> str:
    """The exact target text: the short answer then its markers (``REFUSAL`` stays bare)."""
    answer = answer.strip()
    if answer == REFUSAL or not citations:
        return answer
    return f"{answer} {''.join(f'[{n}]' for n in citations)}"


def is_refusal(text: str) -> bool:
    """Whether an answer is a refusal: it opens as the refusal sentence does (markers and case
    aside). The one test serving, evaluation and fine-tuning apply."""
    return " ".join(_MARKER.sub(" ", text).split()).lower().startswith(_REFUSAL_OPENING)


def parse_citations(text: str, n_passages: int) -> ParsedCitations:
    """Split the ``[n]`` (and ``[n, m]``) markers of ``text`` into valid passage numbers
    (1..n_passages) and invalid markers."""
    valid: list[int] = []
    invalid: list[str] = []
    for match in _MARKER.finditer(text):
        if _valid_marker(match, n_passages):
            valid.extend(n for n in map(int, match.group(1).split(",")) if n not in valid)
        else:
            invalid.append(match.group(0))
    return ParsedCitations(valid=valid, invalid=invalid)


def strip_markers(text: str) -> str:
    """``text`` without any ``[n]`` marker: the answer as scored."""
    return " ".join(_MARKER.sub(" ", text).split())


def drop_invalid_markers(text: str, n_passages: int) -> str:
    """``text`` without the markers that ``parse_citations`` calls invalid."""
    cleaned = _MARKER.sub(lambda m: m.group(0) if _valid_marker(m, n_passages) else "", text)
    return re.sub(r"[ \t]{2,}", " ", cleaned).strip()


def store_template(conn, template: PromptTemplate = TEMPLATE) -> None:
    """Record the template in ``prompt_templates`` (once per id and version)."""
    conn.execute(
        "INSERT INTO prompt_templates (id, version, text) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
        (template.id, template.version, template.text),
    )
