"""``rag ingest`` and ``rag status``: parse, call one function, format."""

from pathlib import Path

import typer

from cli.console import JSON_OPTION, load_settings, print_json
from core.errors import InputError


def parse_meta(pairs: list[str]) -> dict[str, str]:
    """``key=value`` strings to a dict."""
    metadata = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"bad --meta '{pair}'; expected key=value, for example --meta team=search.")
        metadata[key.strip()] = value
    return metadata


def ingest(
    paths: list[Path] = typer.Argument(..., help="Files and folders (recursive): .txt .md .html .pdf .jsonl."),
    collection: str = typer.Option("default", "--collection", "-c", help="Collection to ingest into."),
    meta: list[str] = typer.Option([], "--meta", help="key=value stored on every source; repeatable."),
    synthetic: bool = typer.Option(False, "--synthetic", help="Mark the sources as synthetic data."),
    prune: bool = typer.Option(False, "--prune", help="Remove sources under PATHS that no longer exist."),
    max_failed: int = typer.Option(
        0,
        "--max-failed",
        min=0,
        help="Exit 0 when at most this many sources failed (a corpus with known empty documents).",
    ),
    json_output: bool = JSON_OPTION,
) -> None:
    """Ingest documents: clean, chunk, dedup, embed, and store them in Postgres and FAISS.

    Unchanged sources are skipped; changed ones replace their chunks. Exits 1 when more than
    --max-failed sources failed (each failure is named with its reason; the others are stored).

    Example: rag ingest data/demo --collection demo --meta team=search
    """
    from ingest.pipeline import ingest_paths

    report = ingest_paths(
        load_settings(), paths, collection=collection, metadata=parse_meta(meta), synthetic=synthetic, prune=prune
    )
    document = report.to_json()
    if json_output:
        print_json(document)
    else:
        for group in ("sources", "chunks"):
            typer.echo(f"{group}: " + ", ".join(f"{k} {v}" for k, v in document[group].items()))
        typer.echo(f"{document['seconds']} s, {document['chunks_per_second']} chunks/s")
        for failure in document["failures"]:
            typer.echo(f"failed: {failure['source']}: {failure['error']}")
    if report.failed > max_failed:
        if max_failed:
            typer.echo(f"{report.failed} sources failed, more than --max-failed {max_failed}.", err=True)
        raise typer.Exit(1)


def delete(
    collection: str = typer.Option(..., "--collection", "-c", help="Collection to delete from."),
    source: list[str] = typer.Option(
        [],
        "--source",
        "-s",
        help="A uri prefix (file:///data/old/) or a file or folder path; repeatable. None: every source.",
    ),
    json_output: bool = JSON_OPTION,
) -> None:
    """Delete sources with their chunks and vectors (Postgres, FAISS, BM25); logs stay readable.

    Example: rag delete --collection demo --source /data/demo/old/
    """
    from ingest.delete import delete_from_collection

    report = delete_from_collection(load_settings(), collection, source)
    if json_output:
        print_json(report.to_json())
    else:
        typer.echo(f"deleted {report.sources} sources, {report.chunks} chunks from '{report.collection}'")


def status(json_output: bool = JSON_OPTION) -> None:
    """Show collections (sources, chunks, duplicates), the FAISS index build, the schema version
    and the data directory.

    Example: rag status --json
    """
    from core.db import connection
    from ingest.status import ingest_status

    settings = load_settings()
    with connection(settings) as conn:
        document = ingest_status(conn, settings)
    if json_output:
        print_json(document)
        return
    typer.echo(f"data dir: {document['data_dir']}  schema version: {document['schema_version']}")
    for c in document["collections"]:
        typer.echo(
            f"{c['name']}: {c['sources']} sources, {c['chunks']} chunks "
            f"({c['searchable_chunks']} searchable), {c['duplicates']} duplicates"
        )
    build = document["index_build"]
    typer.echo("index: none" if build is None else f"index: build {build['id']}, {build['vector_count']} vectors")


def register(app: typer.Typer) -> None:
    """Mount the ingest commands on the root app."""
    app.command("ingest")(ingest)
    app.command("status")(status)
    app.command("delete")(delete)
