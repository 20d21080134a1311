"""The answer policy: everything that decides an answer besides the model's weights and the
passages. It is stored with each model in the registry (``rag finetune`` calibrates
``refusal_threshold``), written into every generation log row, and read back by ``rag replay``,
so an answer can be reproduced under the policy it was served with.

``resolve_policy`` is the one place a served policy is made: the model's stored policy, with
the fields an operator set explicitly in the environment (``RAG_DECODING``,
``RAG_REFUSAL_THRESHOLD``, ...) on top; a model without a stored policy (the base) takes the
settings' defaults."""

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from core.errors import InputError
from core.settings import Settings

DECODINGS = ("copy", "free")

# policy field -> the setting that gives its default and may override a stored value
_SETTINGS = {
    "gate_threshold": "refusal_threshold",
    "focus_words": "focus_words",
    "decoding": "decoding",
    "force_citations": "force_citations",
    "max_new_tokens": "max_new_tokens",
    "dtype": "generator_dtype",
}


@dataclass(frozen=True)
class AnswerPolicy:
    gate_threshold: float = 0.45  # refuse before the model when the best window's cosine is below this
    gate_window_words: int = 30  # the relevance signal: best cosine of a window of this many words
    focus_words: int | None = 80  # the model reads each passage cut to this many words around its best window
    refusal_threshold: float | None = None  # the model refuses when its refusal score is at least this
    decoding: str = "copy"  # copy: the answer is a span of one passage; free: any tokens
    force_citations: bool = True  # free decoding: an answer that is not the refusal ends with a valid [n]
    max_new_tokens: int = 64
    dtype: str = "float32"

    def __post_init__(self) -> None:
        if self.decoding not in DECODINGS:
            raise InputError(f"unknown decoding {self.decoding!r}; expected one of: {', '.join(DECODINGS)}.")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> "AnswerPolicy":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (values or {}).items() if k in known})


def default_policy(settings: Settings) -> AnswerPolicy:
    """The policy of a model that has none stored: the settings' values."""
    return AnswerPolicy(**{name: getattr(settings, setting) for name, setting in _SETTINGS.items()})


def resolve_policy(stored: dict[str, Any] | None, settings: Settings) -> AnswerPolicy:
    """The policy a model is served with: its stored one (else ``default_policy``), with every
    field whose setting was given explicitly in the environment taken from the setting."""
    if not stored:
        return default_policy(settings)
    overrides = {name: getattr(settings, s) for name, s in _SETTINGS.items() if s in settings.model_fields_set}
    return replace(AnswerPolicy.from_dict(stored), **overrides)
