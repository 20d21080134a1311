"""The ``rag`` command: the CLI root. It mounts each feature's typer commands and turns
``RagError`` into a one-line message and exit code 2. Feature modules import their heavy
libraries inside the commands, so ``rag --help`` stays fast."""

import logging
import sys

import typer

from core.errors import RagError

app = typer.Typer(
    name="rag",
    help="Grounded generation over your documents: ingest, search, ask, serve, evaluate, fine-tune.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug messages to stderr.")) -> None:
    level = logging.DEBUG if verbose else logging.WARNING
    # The level goes on the handler too: some libraries (bm25s) set their own loggers to DEBUG.
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])


def _mount_features() -> None:
    from answering.cli import register as register_answering
    from evaluation.cli import register as register_evaluation
    from ingest.cli import register as register_ingest
    from models.cli import register as register_models
    from retrieval.cli import register as register_retrieval
    from service.cli import register as register_service
    from training.cli import register as register_training
    from versioning.cli import register as register_versioning

    register_ingest(app)
    register_answering(app)
    register_models(app)
    register_training(app)
    register_retrieval(app)
    register_evaluation(app)
    register_service(app)
    register_versioning(app)


_mount_features()


def main() -> None:
    try:
        app()
    except RagError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
