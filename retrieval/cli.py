"""``rag search``: ranked chunks for a query, from the command line."""

import textwrap

import typer

from cli.console import JSON_OPTION, load_settings, print_json
from retrieval.filters import parse_filter_args

_PREVIEW = 240


def search(
    query: str = typer.Argument(..., help="What to search for."),
    k: int = typer.Option(10, "--k", min=1, help="How many results."),
    mode: str = typer.Option("hybrid", "--mode", help="hybrid, bm25 or dense."),
    collection: str | None = typer.Option(None, "--collection", help="Only this collection."),
    filters: list[str] = typer.Option(
        [],
        "--filter",
        help="key=value or 'key in (a, b)'; keys: collection, uri_prefix, synthetic, or a source metadata "
        "key. Repeat to require several.",
    ),
    json_output: bool = JSON_OPTION,
) -> None:
    """Search the ingested chunks with BM25, dense vectors, or both fused.

    Example: rag search "heat transfer" --k 5 --filter "lang in (en, de)" --json
    """
    from retrieval.searcher import open_searcher

    settings = load_settings()
    parsed = parse_filter_args(filters, collection=collection)
    with open_searcher(settings) as searcher:
        hits = searcher.search(query, k=k, mode=mode, filters=parsed)
    if json_output:
        print_json({"results": [hit.to_json() for hit in hits]})
        return
    if not hits:
        typer.echo("no results")
    for rank, hit in enumerate(hits, start=1):
        parts = [f"{name} {value:.4f}" for name, value in hit.scores.items() if value is not None]
        typer.echo(f"{rank:>2}. {hit.score:.4f}  {hit.source}  [{hit.span[0]}:{hit.span[1]}]  ({', '.join(parts)})")
        preview = " ".join(hit.text.split())
        typer.echo(textwrap.indent(textwrap.shorten(preview, _PREVIEW, placeholder=" ..."), "    "))


def register(app: typer.Typer) -> None:
    app.command("search")(search)
