"""The ``--synthetic include|exclude`` choice of ``rag data build-qa``, ``rag finetune`` and
``rag eval``: whether model-made data takes part, that is records marked ``"synthetic": true``
(rated exchanges a model answered) and sources ingested with ``--synthetic``."""

from core.errors import InputError

CHOICES = ("include", "exclude")


def excludes_synthetic(choice: str) -> bool:
    """True for ``exclude``, False for ``include``; any other value is an input error."""
    if choice not in CHOICES:
        raise InputError(f"unknown --synthetic {choice!r}; expected one of: {', '.join(CHOICES)}.")
    return choice == "exclude"


def select_records(records: list[dict], choice: str) -> list[dict]:
    """``records`` as they are, or without those marked ``"synthetic": true`` for ``exclude``."""
    if not excludes_synthetic(choice):
        return records
    return [r for r in records if r.get("synthetic") is not True]
