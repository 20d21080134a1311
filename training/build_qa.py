"""``rag data build-qa``: SQuAD -> train.jsonl, dev.jsonl (records), dev_squad.jsonl (the dev
articles' questions, for ``rag eval qa``) and manifest.json (input sha256, parameters,
counts, output sha256s). Rated exchanges (``--feedback``) add records to train.jsonl only,
unless ``synthetic`` is ``exclude``. Same input and parameters, same bytes out."""

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from evaluation.squad import SquadQuestion, read_squad, split_by_article, write_flat_squad
from evaluation.synthetic import select_records
from models.artifact import file_sha256
from models.prompt import REFUSAL
from training.feedback import feedback_records, read_feedback
from training.records import Neighbours, Reader, RecordOptions, build_records


def _write_jsonl(records: list[dict], path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def _counts(records: list[dict]) -> dict[str, int]:
    return {
        "records": len(records),
        "answerable": sum(r["answerable"] for r in records),
        "refusal": sum(not r["answerable"] for r in records),
        "synthetic": sum(r["synthetic"] for r in records),
    }


def _within(neighbours: Neighbours | None, questions: list[SquadQuestion]) -> Neighbours | None:
    """Neighbours from the same side of the split only, so no dev paragraph reaches training."""
    if neighbours is None:
        return None
    prefixes = tuple(f"squad:{title}/" for title in {q.title for q in questions})
    return lambda q: [(text, source) for text, source in neighbours(q) if source.startswith(prefixes)]


def _read_feedback(feedback: Path) -> tuple[list[dict], dict]:
    """The records of a ``rag logs export`` file, and its manifest entry (the counts of what
    train.jsonl keeps are added once ``--synthetic`` has selected)."""
    exchanges = read_feedback(feedback)
    records, skipped = feedback_records(exchanges)
    entry = {"path": str(feedback), "sha256": file_sha256(feedback), "exchanges": len(exchanges), "skipped": skipped}
    return records, entry


def build_qa(
    squad: Path,
    out: Path,
    *,
    dev_fraction: float,
    options: RecordOptions,
    neighbours: Callable[[list[SquadQuestion]], Neighbours] | None = None,
    feedback: Path | None = None,
    synthetic: str = "include",
    reader: Reader | None = None,
) -> dict:
    """Build the dataset into ``out`` and return its manifest. ``neighbours(questions)``, when
    given, returns the search over those questions' paragraphs (the served layout's passages,
    the windows layout's hard negatives); ``reader`` cuts passages as the answer function does
    (the served layout); ``feedback``, a
    ``rag logs export`` file, adds its records to train (``synthetic="exclude"`` drops them)."""
    questions = read_squad(squad)
    from_feedback, feedback_entry = _read_feedback(feedback) if feedback else ([], None)
    feedback_train = select_records(from_feedback, synthetic)  # also checks --synthetic before the slow lookup
    lookup = neighbours(questions) if neighbours else None
    train_questions, dev_questions = split_by_article(questions, dev_fraction=dev_fraction, seed=options.seed)
    out.mkdir(parents=True, exist_ok=True)
    train = build_records(
        train_questions, refusal=REFUSAL, options=options, neighbours=_within(lookup, train_questions), reader=reader
    )
    train += feedback_train
    # Dev distractors may come from training articles (the dev split holds few articles);
    # training distractors never come from dev articles.
    dev = build_records(
        dev_questions,
        refusal=REFUSAL,
        options=options,
        neighbours=_within(lookup, dev_questions),
        distractor_questions=questions,
        reader=reader,
    )
    files = _write_files(out, train, dev, dev_questions)
    manifest = {
        "input": {"path": str(squad), "sha256": file_sha256(squad)},
        "feedback": _feedback_entry(feedback_entry, feedback_train),
        "parameters": {"dev_fraction": dev_fraction, **asdict(options), "synthetic": synthetic},
        "articles": {
            "train": sorted({q.title for q in train_questions}),
            "dev": sorted({q.title for q in dev_questions}),
        },
        "counts": {"train": _counts(train), "dev": _counts(dev)},
        "files": files,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return manifest


def _write_files(out: Path, train: list[dict], dev: list[dict], dev_questions: list[SquadQuestion]) -> dict[str, str]:
    """Write train.jsonl, dev.jsonl and dev_squad.jsonl into ``out``; their sha256s by name."""
    _write_jsonl(train, out / "train.jsonl")
    _write_jsonl(dev, out / "dev.jsonl")
    write_flat_squad(dev_questions, out / "dev_squad.jsonl")
    return {name: file_sha256(out / name) for name in ("train.jsonl", "dev.jsonl", "dev_squad.jsonl")}


def _feedback_entry(entry: dict | None, kept: list[dict]) -> dict | None:
    """The feedback file's manifest entry with the counts of the records train.jsonl keeps."""
    return entry and {**entry, "records": len(kept), "synthetic_records": sum(r["synthetic"] for r in kept)}
