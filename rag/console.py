"""What every CLI command shares: settings from the environment, one JSON document on
stdout for ``--json``, and progress bars on stderr."""

import json
import sys
from collections.abc import Iterable
from typing import Any, TypeVar

import typer
from pydantic import ValidationError
from tqdm import tqdm

from rag.errors import ConfigError
from rag.settings import Settings

T = TypeVar("T")

JSON_OPTION = typer.Option(False, "--json", help="Print one JSON document on stdout and nothing else.")
SYNTHETIC_OPTION = typer.Option(
    "include", "--synthetic", help="include or exclude model-made data: records marked synthetic, sources ingested with --synthetic."
)


def load_settings() -> Settings:
    """Settings from the environment, with a readable error for a bad RAG_* value."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"RAG_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid setting: {problems}. Fix the environment variable(s) and retry.") from exc


def print_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, default=str) + "\n")


def progress(items: Iterable[T], *, desc: str, total: int | None = None, unit: str = "it") -> Iterable[T]:
    """A progress bar on stderr, so stdout stays clean for ``--json``."""
    return tqdm(items, desc=desc, total=total, unit=unit, file=sys.stderr, dynamic_ncols=True)
