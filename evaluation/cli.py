"""``rag eval ...``: measurements that print figures (``--json`` for one JSON document)."""

from pathlib import Path

import typer

from cli.console import JSON_OPTION, SYNTHETIC_OPTION, load_settings, print_json

eval_app = typer.Typer(help="Measure retrieval and answer quality.", no_args_is_help=True)

BEIR_OPTION = typer.Option(..., "--beir", help="A BEIR folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv.")
SPLIT_OPTION = typer.Option("test", "--split", help="Which qrels/<split>.tsv to evaluate.")
K_OPTION = typer.Option(10, "--k", min=1, help="Cutoff of nDCG@k and MRR@k (Recall is @100).")


@eval_app.command("retrieval")
def retrieval(
    beir: Path = BEIR_OPTION,
    split: str = SPLIT_OPTION,
    mode: str = typer.Option("all", "--mode", help="hybrid, bm25, dense or all."),
    k: int = K_OPTION,
    synthetic: str = SYNTHETIC_OPTION,
    json_output: bool = JSON_OPTION,
) -> None:
    """nDCG@k, Recall@100 and MRR@k of each search mode on a BEIR folder.

    The corpus is ingested into the collection beir-<folder name> (reused when unchanged);
    each document is scored by its best chunk. --synthetic exclude adds the filter
    synthetic=false to every query.

    Example: rag eval retrieval --beir ../shared/data/cranfield --mode all --synthetic exclude --json
    """
    from evaluation.beir import read_beir
    from evaluation.retrieval import evaluate_retrieval, parse_modes

    modes = parse_modes(mode)
    dataset = read_beir(beir, split)
    results = evaluate_retrieval(load_settings(), dataset, modes, k=k, synthetic=synthetic)
    if json_output:
        print_json(results)
        return
    metrics = list(next(iter(results.values())))
    typer.echo(f"{dataset.collection}: {len(dataset.queries)} queries ({split})")
    typer.echo(f"{'mode':<8}" + "".join(f"{m:>12}" for m in metrics))
    for name, values in results.items():
        typer.echo(f"{name:<8}" + "".join(f"{values[m]:>12.4f}" for m in metrics))


@eval_app.command("fusion")
def fusion(
    beir: Path = BEIR_OPTION,
    split: str = SPLIT_OPTION,
    k: int = K_OPTION,
    folds: int = typer.Option(5, "--folds", min=2, help="Cross-validation folds over the queries."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Cross-validate the hybrid fusion (RRF k, convex alpha) over queries by nDCG@k.

    Every candidate is scored per query; k-fold cross-validation picks one on the training
    folds and measures it on the held-out fold. Use it to set RAG_FUSION, RAG_RRF_K and
    RAG_FUSION_ALPHA.

    Example: rag eval fusion --beir ../shared/data/cranfield --folds 5 --json
    """
    from evaluation.beir import read_beir
    from evaluation.fusion_cv import fusion_study

    study = fusion_study(load_settings(), read_beir(beir, split), k=k, folds=folds)
    if json_output:
        print_json(study)
        return
    typer.echo(f"{study['metric']} over all queries:")
    for name, value in study["candidates"].items():
        typer.echo(f"  {name:<18}{value:.4f}")
    typer.echo(f"{study['folds']}-fold cross-validation (chosen per fold -> held-out {study['metric']}):")
    for family, result in study["cross_validation"].items():
        typer.echo(f"  {family:<8}{result['cv']:.4f}  {', '.join(result['chosen'])}")


@eval_app.command("qa")
def qa(
    squad: Path = typer.Option(
        ..., "--squad", help="SQuAD v1.1 file (.json or .jsonl), e.g. dev_squad.jsonl from build-qa."
    ),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Answer a seeded sample of this many questions."),
    seed: int = typer.Option(0, "--seed", help="Seeds the sample, the withheld 25% and the passage order."),
    model: str = typer.Option(
        "serving",
        "--model",
        help="serving (what the service serves), base, promoted, or a model id from `rag models list`.",
    ),
    context: str = typer.Option(
        "oracle",
        "--context",
        help="oracle (gold + 2 other-article paragraphs) or retrieved (the serving pipeline, RAG_DEFAULT_K passages).",
    ),
    synthetic: str = SYNTHETIC_OPTION,
    predictions: Path | None = typer.Option(
        None,
        "--predictions",
        help="Also write each question's passages, answer and refusal signals to this JSONL file.",
    ),
    json_output: bool = JSON_OPTION,
) -> None:
    """Exact match, F1, citation and refusal accuracy of a generator on SQuAD questions, answered
    as POST /generate answers them (the model's answer policy; RAG_DECODING=free and the other
    policy settings apply as they do to the service).

    --synthetic exclude keeps the retrieved context to sources not marked synthetic.
    --predictions FILE writes one line per question, to read what the model answered.

    Example: rag eval qa --squad .rag/qa/dev_squad.jsonl --model promoted --context retrieved --limit 100 --json
    """
    from tqdm import tqdm

    from evaluation.qa import evaluate_qa

    result = evaluate_qa(
        load_settings(),
        squad,
        model=model,
        context=context,
        limit=limit,
        seed=seed,
        synthetic=synthetic,
        predictions_path=predictions,
        progress=lambda items: tqdm(items, desc=f"eval qa ({context})", unit="q"),
    )
    if json_output:
        print_json(result)
        return
    _echo_qa(result, context)


def _echo_qa(result: dict, context: str) -> None:
    typer.echo(
        f"model {result['model']['id']} ({result['model']['name']}), {context}, "
        f"{result['policy']['decoding']} decoding,"
        f" n={result['n']}: "
        f"EM {result['exact_match']}, F1 {result['f1']}, citation {result['citation_accuracy']}, "
        f"refusal {result['refusal_accuracy']}, {result['seconds_per_question']} s/question"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")
