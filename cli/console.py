"""What every CLI command shares: settings from the environment, one JSON document on
stdout for ``--json``. Progress bars are tqdm's, on stderr, so stdout stays clean."""

import json
import sys
from typing import Any

import typer
from pydantic import ValidationError

from core.errors import ConfigError
from core.settings import Settings

JSON_OPTION = typer.Option(False, "--json", help="Print one JSON document on stdout and nothing else.")
SYNTHETIC_OPTION = typer.Option(
    "include",
    "--synthetic",
    help="include or exclude model-made data: records marked synthetic, sources ingested with --synthetic.",
)


def load_settings() -> Settings:
    """Settings from the environment, with a readable error for a bad RAG_* value."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(f"RAG_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid setting: {problems}. Fix the environment variable(s) and retry.") from exc


def print_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, default=str) + "\n")
