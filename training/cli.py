"""``rag data build-qa`` (versioned QA training data from SQuAD) and ``rag finetune`` (adapt the
generator to grounded short answers with citations)."""

from contextlib import ExitStack
from pathlib import Path

import typer

from cli.console import JSON_OPTION, SYNTHETIC_OPTION, load_settings, print_json

data_app = typer.Typer(name="data", help="Build versioned training data.", no_args_is_help=True)


@data_app.command("build-qa")
def build_qa_command(
    squad: Path = typer.Option(..., "--squad", help="SQuAD v1.1 file: nested .json or flat .jsonl."),
    out: Path = typer.Option(..., "--out", help="Folder for train.jsonl, dev.jsonl, dev_squad.jsonl, manifest.json."),
    dev_fraction: float = typer.Option(0.1, "--dev-fraction", help="Share of questions (whole articles) held out."),
    layout: str = typer.Option(
        "served",
        "--layout",
        help="served: each question's passages are the hybrid search's top --k, cut as the answer function cuts "
        "them (ingests the paragraphs); windows: the gold window and --distractors others (no index needed).",
    ),
    k: int = typer.Option(5, "--k", min=1, help="served: passages per record (the service's default k)."),
    distractors: int = typer.Option(2, "--distractors", min=0, help="windows: passages besides the gold one."),
    unanswerable: float = typer.Option(0.2, "--unanswerable", min=0.0, max=1.0, help="Share of refusal records."),
    hard_negatives: int = typer.Option(
        1,
        "--hard-negatives",
        min=0,
        help="windows: distractors taken from the hybrid retriever's top hits (ingests the paragraphs).",
    ),
    window_words: int = typer.Option(
        80, "--window-words", min=10, help="windows: passages are cut to windows of this many words."
    ),
    seed: int = typer.Option(0, "--seed", help="Seeds the split, the windows, the distractors and the order."),
    feedback: Path | None = typer.Option(
        None,
        "--feedback",
        help="Rated exchanges from `rag logs export`: more train records (origin feedback, synthetic).",
    ),
    synthetic: str = SYNTHETIC_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Split SQuAD by article and write training and dev records with distractors and refusals;
    rated exchanges (--feedback) add synthetic training records unless --synthetic exclude.

    Example: rag data build-qa --squad ../shared/data/squad/train_sample.jsonl --out .rag/qa --feedback rated.jsonl
    """
    from training.build_qa import build_qa
    from training.records import RecordOptions

    options = RecordOptions(
        layout=layout,
        k=k,
        window_words=window_words,
        distractors=distractors,
        hard_negatives=hard_negatives,
        unanswerable=unanswerable,
        seed=seed,
    )
    searched = layout == "served" or hard_negatives > 0
    with ExitStack() as stack:
        embedder = _cached_embedder() if searched else None
        manifest = build_qa(
            squad,
            out,
            dev_fraction=dev_fraction,
            options=options,
            neighbours=_paragraph_neighbours(stack, squad, options, embedder) if searched else None,
            feedback=feedback,
            synthetic=synthetic,
            reader=_served_reader(embedder) if layout == "served" else None,
        )
    if as_json:
        print_json(manifest)
        return
    _echo_manifest(manifest, out)


def _cached_embedder():
    """MiniLM, remembering each text's vector: the served reader embeds the windows of the same
    paragraphs for many questions."""
    from models.embedder import CachedEmbedder, load_embedder

    return CachedEmbedder(load_embedder(load_settings()))


def _paragraph_neighbours(stack: ExitStack, squad: Path, options, embedder):
    """``build_qa``'s neighbours: the hybrid search over the paragraphs of the questions it is
    given (ingested then), open until ``stack`` closes. It asks for more hits than a record
    keeps: the split's filter and the refusal records' drops take some away."""
    from evaluation.corpus import paragraph_search

    wanted = 3 * options.k + 4 if options.layout == "served" else 2 * options.hard_negatives + 4

    def neighbours(questions):
        search = stack.enter_context(paragraph_search(load_settings(), squad, questions, embedder=embedder))
        return lambda q: search(q.question, wanted)

    return neighbours


def _served_reader(embedder):
    """Each passage as the answer function cuts it under the served policy's defaults."""
    from answering.answer import focus
    from models.policy import default_policy

    policy = default_policy(load_settings())
    return lambda question, passages: focus(embedder, question, passages, policy).passages


def _echo_manifest(manifest: dict, out: Path) -> None:
    counts = manifest["counts"]
    typer.echo(
        f"train: {counts['train']['records']} records ({counts['train']['refusal']} refusals, "
        f"{counts['train']['synthetic']} synthetic), "
        f"dev: {counts['dev']['records']} records from {', '.join(manifest['articles']['dev'])}; "
        f"written to {out}"
    )


def finetune_command(
    train: Path = typer.Option(..., "--train", help="train.jsonl from `rag data build-qa`."),
    dev: Path = typer.Option(
        ..., "--dev", help="dev.jsonl from `rag data build-qa` (dev metrics, refusal calibration)."
    ),
    method: str = typer.Option("lora", "--method", help="freeze (train the top blocks) or lora (adapters)."),
    freeze_layers: int = typer.Option(20, "--freeze-layers", help="freeze: lower blocks kept fixed (of 30)."),
    lora_rank: int = typer.Option(16, "--lora-rank", help="lora: adapter rank."),
    max_steps: int = typer.Option(600, "--max-steps", help="Optimizer steps (batches) at most."),
    max_minutes: float = typer.Option(
        32.0, "--max-minutes", help="Training minutes at most; the schedule fits whichever ends first."
    ),
    epochs: float | None = typer.Option(None, "--epochs", help="Instead of --max-steps: passes over train.jsonl."),
    lr: float = typer.Option(
        1e-3, "--lr", help="Peak AdamW learning rate (linear warm-up then decay; 2e-4 suits freeze)."
    ),
    batch_size: int = typer.Option(4, "--batch-size", help="Records per step."),
    max_seq_len: int = typer.Option(800, "--max-seq-len", help="Longer records are left out."),
    curriculum: float = typer.Option(0.2, "--curriculum", help="Share of steps on the gold passage alone."),
    dev_limit: int = typer.Option(60, "--dev-limit", help="Dev records answered for the dev metrics."),
    seed: int = typer.Option(0, "--seed"),
    synthetic: str = SYNTHETIC_OPTION,
    precision: str = typer.Option(
        "auto", "--precision", help="auto (bfloat16 autocast where the CPU has AMX, else float32), float32, bfloat16."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Work folder (checkpoint, model/); default under RAG_DATA_DIR/models."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Fine-tune the generator on QA records and register it as a candidate; rerun to resume.

    The defaults are the recipe of the shipped adapter (LoRA r=16 on every linear layer, lr 1e-3,
    300 steps or 30 minutes, whichever ends first).

    Example: rag finetune --train .rag/qa/train.jsonl --dev .rag/qa/dev.jsonl
    """
    from tqdm import tqdm

    from training.config import FinetuneConfig
    from training.finetune import run_finetune, training_records

    if epochs is not None:
        max_steps = max(1, round(epochs * len(training_records(train, synthetic)[0]) / batch_size))
    config = FinetuneConfig(
        method=method,
        freeze_layers=freeze_layers,
        lora_rank=lora_rank,
        lora_alpha=2 * lora_rank,
        lr=lr,
        batch_size=batch_size,
        max_steps=max_steps,
        max_minutes=max_minutes,
        max_seq_len=max_seq_len,
        curriculum=curriculum,
        dev_limit=dev_limit,
        seed=seed,
        synthetic=synthetic,
        precision=precision,
    )
    bar, on_step = _step_bar(max_steps)
    summary = run_finetune(
        load_settings(), train, dev, config, out, on_step=on_step, progress=lambda xs: tqdm(xs, desc="dev", unit="q")
    )
    bar.close()
    if as_json:
        print_json({k: v for k, v in summary.items() if k != "losses"})
        return
    _echo_summary(summary)


def _step_bar(max_steps: int):
    """A progress bar of the training steps on stderr, and the ``on_step`` that advances it."""
    import sys

    from tqdm import tqdm

    bar = tqdm(total=max_steps, desc="finetune", unit="step", file=sys.stderr, dynamic_ncols=True)

    def on_step(step: int, loss: float, done: float) -> None:
        bar.set_postfix(loss=f"{loss:.3f}", progress=f"{done:.0%}", refresh=False)  # shown by the update
        bar.update(1)

    return bar, on_step


def _echo_summary(summary: dict) -> None:
    m = summary["dev_metrics"]
    typer.echo(
        f"model {summary['model_id']} (candidate), {summary['steps']} steps in {summary['train_minutes']} min: "
        f"dev F1 {m['f1']}, EM {m['exact_match']}, "
        f"citation {m['citation_accuracy']}, refusal {m['refusal_accuracy']} (n={m['n']})"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
    app.command("finetune")(finetune_command)
