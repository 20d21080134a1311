"""``rag ask``: what ``POST /generate`` does, from the command line."""

import typer

from cli.console import JSON_OPTION, load_settings, print_json


def ask(
    query: str = typer.Argument(..., help="The question."),
    k: int = typer.Option(5, "--k", min=1, max=20, help="How many passages the answer may draw on."),
    collection: str | None = typer.Option(None, "--collection", help="Only this collection."),
    filters: list[str] = typer.Option(
        [], "--filter", help="key=value or 'key in (a, b)', as for `rag search`. Repeat to require several."
    ),
    session_id: str | None = typer.Option(
        None, "--session-id", help="Continue this session: a follow-up is rewritten using the previous turn."
    ),
    max_new_tokens: int | None = typer.Option(
        None, "--max-new-tokens", min=1, max=1024, help="Cap on answer tokens; default RAG_MAX_NEW_TOKENS."
    ),
    json_output: bool = JSON_OPTION,
) -> None:
    """Answer a question from the ingested documents, citing the passages by number; refuse when
    they do not hold the answer. The exchange is logged like a /generate request.

    Example: rag ask "how does hybrid search combine keyword and vector results?" --k 3 --json
    """
    from contextlib import closing
    from functools import partial

    from answering.compose import compose_answerer
    from answering.pipeline import AnswerRequest
    from core.db import connection
    from retrieval.filters import parse_filter_args

    settings = load_settings()
    parsed = parse_filter_args(filters, collection=collection)
    with closing(compose_answerer(settings, partial(connection, settings, autocommit=True))) as answerer:
        request = AnswerRequest(query, k=k, filters=parsed, session_id=session_id, max_new_tokens=max_new_tokens)
        if json_output:
            print_json(answerer.answer(request).to_json())
            return
        for item in answerer.stream(request):
            if isinstance(item, str):
                typer.echo(item, nl=False)
                continue
            typer.echo()
            for citation in item.citations:
                start, end = citation["span"]
                typer.echo(f"[{citation['n']}] {citation['source']} [{start}:{end}]")
            timings = item.timings
            typer.echo(
                f"log {item.log_id}, session {item.session_id}, model {item.model['name']} ({item.model['id']});"
                f" retrieve {timings['retrieve_ms']:.0f} ms, generate {timings['generate_ms']:.0f} ms,"
                f" {item.tokens['completion']} tokens",
                err=True,
            )


def register(app: typer.Typer) -> None:
    app.command("ask")(ask)
