"""``rag models list`` and ``rag models promote``: the registry and its promotion gate."""

import typer

from rag.console import JSON_OPTION, load_settings, print_json

models_app = typer.Typer(name="models", help="List registered generators and promote one.", no_args_is_help=True)

_METRICS = ("f1", "exact_match", "citation_accuracy", "refusal_accuracy")


@models_app.command("list")
def list_command(as_json: bool = JSON_OPTION) -> None:
    """List the registered models with their status and dev metrics.

    Example: rag models list --json
    """
    from models.registry import list_models
    from rag.db import connection

    with connection(load_settings()) as conn:
        models = list_models(conn)
    rows = [
        {**m.summary(), "status": m.status, "parent_id": m.parent_id, "path": m.path,
         "created_at": m.created_at.isoformat(), "metrics": {k: m.metrics.get(k) for k in _METRICS if k in m.metrics}}
        for m in models
    ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        metrics = " ".join(f"{k}={v}" for k, v in row["metrics"].items())
        typer.echo(f"{row['id']:>4} {row['status']:<9} {row['kind']:<7} {row['name']} {row['sha256'][:12]} {metrics}")


@models_app.command("promote")
def promote_command(
    model_id: int = typer.Argument(..., help="The candidate's id (see `rag models list`)."),
    force: bool = typer.Option(False, "--force", help="Promote even if the gate refuses; recorded in model_events."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Promote a candidate if its dev F1 beats the served model's and its refusal accuracy is
    not more than 0.02 lower; prints the comparison. The service serves it after a restart.

    Example: rag models promote 2
    """
    from models.promotion import promote
    from rag.db import connection

    with connection(load_settings()) as conn:
        result = promote(conn, model_id, force=force)
    comparison = result.comparison()
    if as_json:
        print_json(comparison)
    else:
        for side in ("candidate", "current"):
            values = " ".join(f"{k}={comparison[side][k]}" for k in _METRICS)
            typer.echo(f"{side:<9} model {comparison[side]['id']}: {values}")
        typer.echo(("promoted" + (" (forced)" if force and not result.decision.passed else "")) if result.promoted
                   else "not promoted: " + "; ".join(result.decision.reasons) + " (use --force to override)")
    if not result.promoted:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
