"""``rag datasets record|list|show``, ``rag replay`` and ``rag plots``: parse, call one
function, format."""

import json
import textwrap
from pathlib import Path

import typer

from cli.console import JSON_OPTION, load_settings, print_json
from core.errors import InputError

datasets_app = typer.Typer(help="Dataset versions: what DVC tracks, recorded in Postgres.", no_args_is_help=True)


@datasets_app.command("record")
def record(
    name: str = typer.Argument(..., help="The dataset's name, e.g. corpus, qa, feedback."),
    path: Path = typer.Argument(..., help="The file or folder that holds it (a DVC stage output)."),
    params: list[str] = typer.Option([], "--params", help="params.yaml key that made it (e.g. build_qa); repeatable."),
    params_file: Path = typer.Option(Path("params.yaml"), "--params-file", help="Where --params keys are read."),
    params_hash: str | None = typer.Option(
        None, "--params-hash", help="A parameters hash made elsewhere (instead of --params)."
    ),
    collection: str | None = typer.Option(
        None, "--collection", help="PATH was just ingested into this collection: stamp its latest run and sources."
    ),
    model_dir: Path | None = typer.Option(
        None, "--model-dir", help="A model trained from this version: stamp the registered model with these weights."
    ),
    synthetic: bool = typer.Option(
        False, "--synthetic", help="Every record is synthetic (model-generated, e.g. exported exchanges)."
    ),
    json_output: bool = JSON_OPTION,
) -> None:
    """Record a version of a dataset (a DVC-tracked file or folder) in Postgres.

    It stores DVC's md5 of PATH (as in dvc.lock), the git commit, the parameters' hash and the
    record counts (synthetic ones apart). The same name, content and parameters give back the
    version recorded first.

    Example: rag datasets record corpus data/corpus --params ingest --collection beir-corpus --json
    """
    from core.db import connection
    from versioning.store import record_version

    new = _new_version(name, path, params, params_file, params_hash, synthetic)
    with connection(load_settings(), autocommit=True) as conn:
        version, created = record_version(conn, new)
        links = _link(conn, version.id, path, collection, model_dir)
    if json_output:
        print_json({**version.to_json(), "created": created, "links": links})
        return
    typer.echo(f"{'recorded' if created else 'already recorded'}: {_line(version)}")
    for what, link in links.items():
        typer.echo(f"linked {what}: {link}")


def _new_version(name: str, path: Path, params: list[str], params_file: Path, params_hash: str | None, synthetic: bool):
    """The version of PATH to record: DVC's md5, the git commit, the parameters with their hash, the counts."""
    from versioning.provenance import count_records, dvc_md5, git_commit, select_params
    from versioning.provenance import params_hash as hash_params
    from versioning.store import NewVersion

    if params and params_hash:
        raise InputError("pass --params or --params-hash, not both.")
    selected = select_params(params_file, params)
    return NewVersion(
        name=name,
        path=str(path),
        md5=dvc_md5(path),
        git_commit=git_commit(path),
        params_hash=params_hash or hash_params(selected),
        params=selected,
        counts=count_records(path, synthetic=synthetic),
    )


def _link(conn, version_id: int, path: Path, collection: str | None, model_dir: Path | None) -> dict:
    """Stamp what the version was used for (the collection's latest ingest run and sources, the
    registered model with these weights); what was linked, by kind."""
    from ingest.discovery import uri_patterns
    from models.artifact import weights_sha256
    from versioning.store import link_collection, link_models

    links = {}
    if collection:
        links["collection"] = {
            "name": collection,
            **link_collection(conn, version_id, collection, uri_patterns(path)),
        }
    if model_dir:
        links["models"] = link_models(conn, version_id, weights_sha256(model_dir), model_dir)
    return links


@datasets_app.command("list")
def list_command(json_output: bool = JSON_OPTION) -> None:
    """List the recorded dataset versions, oldest first (an empty list when there are none).

    Example: rag datasets list --json
    """
    from core.db import connection
    from versioning.store import list_versions

    with connection(load_settings()) as conn:
        versions = list_versions(conn)
    if json_output:
        print_json([v.to_json() for v in versions])
        return
    if not versions:
        typer.echo("no dataset versions yet; `dvc repro` records them (or `rag datasets record NAME PATH`).")
    for version in versions:
        typer.echo(_line(version))


@datasets_app.command("show")
def show(
    name_or_id: str = typer.Argument(..., help="A version id, or a name for its newest version."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Show one dataset version: counts per file, and what points at it.

    What points at it: ingest runs, sources, models, generation logs.

    Example: rag datasets show qa --json
    """
    from core.db import connection
    from versioning.store import get_version, referrers

    with connection(load_settings()) as conn:
        version = get_version(conn, name_or_id)
        used_by = referrers(conn, version.id)
    if json_output:
        print_json({**version.to_json(), "used_by": used_by})
        return
    typer.echo(_line(version))
    typer.echo(f"path {version.path}, git commit {version.git_commit or '-'}, params {version.params or '-'}")
    for file, counts in version.counts.items():
        typer.echo(f"  {file}: {counts['records']} records ({counts['synthetic_records']} synthetic)")
    typer.echo("used by: " + ", ".join(f"{k} {v}" for k, v in used_by.items()))


def _line(version) -> str:
    return (
        f"{version.id:>4} {version.name:<12} {version.md5:<36} {version.records:>7} records"
        f" ({version.synthetic_records} synthetic)  {version.created_at:%Y-%m-%d %H:%M}"
    )


def replay(
    log_id: int = typer.Argument(..., help="A generation log id (`log_id` of a /generate response or `rag ask`)."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Replay a logged answer with its recorded versions and say what has changed since.

    The model (by sha256), passages (index build), data and template recorded in the log row
    are used again; the command says whether the answer is identical, what has changed since
    (model, policy, index, data, template), and shows the answers side by side.

    Example: rag replay 42 --json
    """
    from functools import cache

    from core.db import connection
    from models.embedder import load_embedder
    from models.generator import ensure_base_model, load_generator
    from retrieval.searcher import open_searcher
    from versioning.replay import replay_log

    settings = load_settings()
    generator_for = cache(lambda artifact, dtype: load_generator(settings, artifact, dtype))
    embedder = cache(lambda: load_embedder(settings))
    with connection(settings) as conn:
        report = replay_log(
            settings,
            conn,
            log_id,
            generator_for=generator_for,
            open_searcher=lambda: open_searcher(settings, embedder()),
            embedder=embedder,
            base=lambda: ensure_base_model(settings),
        )
    if json_output:
        print_json(report.to_json())
    else:
        _print_replay(report)


def _print_replay(report) -> None:
    """Each part (recorded, and now when changed), the verdict, and the answers side by side."""
    typer.echo(f"log {report.log_id}: {report.query}")
    for name, part in report.parts.items():
        typer.echo(
            f"  {name:<9} recorded {part.recorded}" + (f" -> now {part.current}" if part.changed else " (unchanged)")
        )
    for reason in report.unavailable:
        typer.echo(f"  cannot use the recorded {reason}")
    if report.replayed is not None:
        verdict = "identical to the logged answer" if report.identical else "DIFFERENT from the logged answer"
        typer.echo(f"replayed with the recorded versions: {verdict}")
    typer.echo("changed since: " + (", ".join(report.changed) or "nothing"))
    answers = {"logged": report.logged.answer}
    if report.replayed is not None and not report.identical:
        answers["replayed"] = report.replayed.answer
    if report.current is not None:
        answers["now"] = report.current.answer
    if len(answers) > 1:
        typer.echo(_side_by_side(answers))


def _side_by_side(answers: dict[str, str], width: int = 38) -> str:
    wrapped = {label: textwrap.wrap(text, width) or [""] for label, text in answers.items()}
    height = max(len(lines) for lines in wrapped.values())
    rows = [" | ".join(f"{label:<{width}}" for label in wrapped)]
    rows.append("-+-".join("-" * width for _ in wrapped))
    for i in range(height):
        rows.append(" | ".join(f"{(lines[i] if i < len(lines) else ''):<{width}}" for lines in wrapped.values()))
    return "\n".join(row.rstrip() for row in rows)


def plots(
    out: Path = typer.Option(Path("plots"), "--out", help="Folder for ndcg.json, qa.json and loss.json."),
    retrieval: Path | None = typer.Option(None, "--retrieval", help="`rag eval retrieval --json` output."),
    qa: list[str] = typer.Option([], "--qa", help="LABEL=FILE: a `rag eval qa --json` output; repeatable."),
    run: Path | None = typer.Option(None, "--run", help="finetune.json of a fine-tuned model (its loss curve)."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Write the DVC pipeline's plots (nDCG per mode, QA per model, training loss).

    Each plot is a JSON list of rows for `dvc plots show`.

    Example:
      rag plots --retrieval metrics/retrieval.json --qa base=metrics/qa_base.json \
        --run data/finetune/model/finetune.json
    """
    from versioning.plots import loss_rows, ndcg_rows, qa_rows

    written = {}
    if retrieval:
        written["ndcg.json"] = ndcg_rows(_read_json(retrieval))
    if qa:
        written["qa.json"] = qa_rows({label: _read_json(Path(file)) for label, file in map(_label_file, qa)})
    if run:
        written["loss.json"] = loss_rows(_read_json(run).get("losses", []))
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in written.items():
        (out / name).write_text(json.dumps(rows, indent=1) + "\n")
    if json_output:
        print_json({name: len(rows) for name, rows in written.items()})
    else:
        typer.echo(", ".join(f"{out / name} ({len(rows)} rows)" for name, rows in written.items()) or "nothing to plot")


def _label_file(pair: str) -> tuple[str, str]:
    label, sep, file = pair.partition("=")
    if not sep or not label or not file:
        raise InputError(f"bad --qa {pair!r}; expected LABEL=FILE, for example --qa base=metrics/qa_base.json.")
    return label, file


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read JSON from {path} ({exc}); pass the file a `--json` command wrote.") from exc


def register(app: typer.Typer) -> None:
    """Mount ``datasets``, ``replay`` and ``plots`` on the root app."""
    app.add_typer(datasets_app, name="datasets")
    app.command("replay")(replay)
    app.command("plots")(plots)
