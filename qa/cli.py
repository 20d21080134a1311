"""``rag data build-qa``: versioned QA training data from SQuAD."""

from pathlib import Path

import typer

from rag.console import JSON_OPTION, SYNTHETIC_OPTION, print_json

data_app = typer.Typer(name="data", help="Build versioned training data.", no_args_is_help=True)


@data_app.command("build-qa")
def build_qa_command(
    squad: Path = typer.Option(..., "--squad", help="SQuAD v1.1 file: nested .json or flat .jsonl."),
    out: Path = typer.Option(..., "--out", help="Folder for train.jsonl, dev.jsonl, dev_squad.jsonl, manifest.json."),
    dev_fraction: float = typer.Option(0.1, "--dev-fraction", help="Share of questions (whole articles) held out."),
    distractors: int = typer.Option(2, "--distractors", min=0, help="Passages besides the gold one."),
    unanswerable: float = typer.Option(0.2, "--unanswerable", min=0.0, max=1.0, help="Share of refusal records."),
    hard_negatives: int = typer.Option(
        1, "--hard-negatives", min=0, help="Distractors taken from the hybrid retriever's top hits (ingests the paragraphs)."
    ),
    window_words: int = typer.Option(80, "--window-words", min=10, help="Passages are cut to windows of this many words."),
    seed: int = typer.Option(0, "--seed", help="Seeds the split, the windows, the distractors and the order."),
    feedback: Path | None = typer.Option(
        None, "--feedback", help="Rated exchanges from `rag logs export`: more train records (origin feedback, synthetic)."
    ),
    synthetic: str = SYNTHETIC_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Split SQuAD by article and write training and dev records with distractors and refusals;
    rated exchanges (--feedback) add synthetic training records unless --synthetic exclude.

    Example: rag data build-qa --squad ../shared/data/squad/train_sample.jsonl --out .rag/qa --feedback rated.jsonl
    """
    from contextlib import ExitStack

    from qa.build import build_qa
    from qa.corpus import paragraph_search
    from qa.records import RecordOptions
    from rag.console import load_settings

    options = RecordOptions(
        window_words=window_words, distractors=distractors, hard_negatives=hard_negatives, unanswerable=unanswerable, seed=seed
    )
    with ExitStack() as stack:

        def neighbours(questions):
            search = stack.enter_context(paragraph_search(load_settings(), squad, questions))
            return lambda q: search(q.question, 2 * hard_negatives + 4)

        manifest = build_qa(
            squad, out, dev_fraction=dev_fraction, options=options, neighbours=neighbours if hard_negatives else None,
            feedback=feedback, synthetic=synthetic,
        )
    if as_json:
        print_json(manifest)
        return
    counts = manifest["counts"]
    typer.echo(
        f"train: {counts['train']['records']} records ({counts['train']['refusal']} refusals, "
        f"{counts['train']['synthetic']} synthetic), "
        f"dev: {counts['dev']['records']} records from {', '.join(manifest['articles']['dev'])}; "
        f"written to {out}"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
