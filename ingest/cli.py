"""Ingest commands (placeholder until the ingest pipeline lands)."""

import typer


def register(app: typer.Typer) -> None:
    """Mount the ingest commands on the root app."""
