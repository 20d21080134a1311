"""Service commands: ``rag serve``, ``rag keys create|list|revoke``, ``rag logs export``."""

import signal
from pathlib import Path

import typer

from cli.console import JSON_OPTION, load_settings, print_json
from service.keys import Role

keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
logs_app = typer.Typer(help="Export generation logs.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Mount ``serve`` and the ``keys`` and ``logs`` groups on the root app."""
    app.command()(serve)
    app.add_typer(keys_app, name="keys")
    app.add_typer(logs_app, name="logs")


def serve(
    host: str = typer.Option(None, help="Interface to bind; default RAG_SERVICE_HOST (127.0.0.1)."),
    port: int = typer.Option(None, help="Port; default RAG_SERVICE_PORT (8000)."),
) -> None:
    """Serve the HTTP API (generate, search, feedback, logs, health, metrics).

    Example: rag serve --port 8000, then
    curl -H "Authorization: Bearer $KEY" -H "Content-Type: application/json"
    -d '{"query": "what is hybrid search?"}' localhost:8000/generate
    """
    import uvicorn

    from service.app import create_app

    settings = load_settings()
    # uvicorn re-raises SIGTERM after its graceful shutdown; as SystemExit the exit cleanup
    # (the embedded server stops with its last user) still runs.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    uvicorn.run(
        create_app(settings),
        host=host or settings.service_host,
        port=port or settings.service_port,
        log_level="info",
    )


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


@keys_app.command("create")
def create(
    role: Role = typer.Option(..., help="reader: search; user: search, generate, feedback; admin: all."),
    name: str = typer.Option(None, help="A label to recognise the key by."),
    collection: list[str] = typer.Option(None, help="Restrict the key to this collection (repeatable)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Create an API key and print it alone on the last line; only its hash is stored.

    Example: KEY=$(rag keys create --role user --name alice | tail -1)
    """
    from core.db import connection
    from service.keys import create_key

    with connection(load_settings()) as conn:
        key, secret = create_key(conn, role, name=name, collections=collection or None)
    if as_json:
        print_json(
            {"id": key.id, "name": key.name, "role": key.role.value, "collections": key.collections, "key": secret}
        )
        return
    typer.echo(f"created {key.role.value} key {key.id}" + (f" ({key.name})" if key.name else ""), err=True)
    typer.echo(secret)


@keys_app.command("list")
def list_keys(as_json: bool = JSON_OPTION) -> None:
    """List the keys (never their secrets). Example: rag keys list --json"""
    from core.db import connection
    from service.keys import key_rows

    with connection(load_settings()) as conn:
        rows = key_rows(conn)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        state = f"revoked {row['revoked_at']:%Y-%m-%d}" if row["revoked_at"] else "live"
        typer.echo(f"{row['id']:>4}  {row['role']:<6}  {state:<18}  {row['name'] or ''}")


@keys_app.command("revoke")
def revoke(key_id: int = typer.Argument(..., help="The key's id, from `rag keys list`.")) -> None:
    """Revoke a key; requests with it get 401 from then on. Example: rag keys revoke 3"""
    from core.db import connection
    from service.keys import revoke_key

    with connection(load_settings()) as conn:
        revoke_key(conn, key_id)
    typer.echo(f"revoked key {key_id}", err=True)


@logs_app.command("export")
def export(
    out: Path = typer.Option(..., "--out", help="The JSONL file to write."),
    min_score: int = typer.Option(4, min=1, max=5, help="Keep exchanges whose mean feedback score is at least this."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Write rated exchanges (prompt, answer, citations, score) as JSONL for fine-tuning.

    Example: rag logs export --min-score 4 --out rated.jsonl
    """
    from answering.export import export_rated
    from core.db import connection

    with connection(load_settings()) as conn:
        written = export_rated(conn, out, min_score=min_score)
    if as_json:
        print_json({"out": str(out), "exchanges": written, "min_score": min_score})
    else:
        typer.echo(f"wrote {written} exchanges with score >= {min_score} to {out}")
