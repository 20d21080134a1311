"""``rag data build-qa``: SQuAD -> train.jsonl, dev.jsonl (records), dev_squad.jsonl (the dev
articles' questions, for ``rag eval qa``) and manifest.json (input sha256, parameters,
counts, output sha256s). Same input and parameters, same bytes out."""

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from models.artifact import file_sha256
from models.prompt import REFUSAL
from qa.records import Neighbours, RecordOptions, build_records
from qa.squad import SquadQuestion, read_squad, split_by_article, write_flat_squad


def _write_jsonl(records: list[dict], path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def _counts(records: list[dict]) -> dict[str, int]:
    return {
        "records": len(records),
        "answerable": sum(r["answerable"] for r in records),
        "refusal": sum(not r["answerable"] for r in records),
    }


def _within(neighbours: Neighbours | None, questions: list[SquadQuestion]) -> Neighbours | None:
    """Neighbours from the same side of the split only, so no dev paragraph reaches training."""
    if neighbours is None:
        return None
    prefixes = tuple(f"squad:{title}/" for title in {q.title for q in questions})
    return lambda q: [(text, source) for text, source in neighbours(q) if source.startswith(prefixes)]


def build_qa(
    squad: Path,
    out: Path,
    *,
    dev_fraction: float,
    options: RecordOptions,
    neighbours: Callable[[list[SquadQuestion]], Neighbours] | None = None,
) -> dict:
    """Build the dataset into ``out`` and return its manifest. ``neighbours(questions)``, when
    given, returns the hard-negative lookup over those questions' paragraphs."""
    questions = read_squad(squad)
    lookup = neighbours(questions) if neighbours else None
    train_questions, dev_questions = split_by_article(questions, dev_fraction=dev_fraction, seed=options.seed)
    out.mkdir(parents=True, exist_ok=True)
    train = build_records(train_questions, refusal=REFUSAL, options=options, neighbours=_within(lookup, train_questions))
    # Dev distractors may come from training articles (the dev split holds few articles);
    # training distractors never come from dev articles.
    dev = build_records(
        dev_questions, refusal=REFUSAL, options=options, neighbours=_within(lookup, dev_questions),
        distractor_questions=questions,
    )
    _write_jsonl(train, out / "train.jsonl")
    _write_jsonl(dev, out / "dev.jsonl")
    write_flat_squad(dev_questions, out / "dev_squad.jsonl")
    manifest = {
        "input": {"path": str(squad), "sha256": file_sha256(squad)},
        "parameters": {"dev_fraction": dev_fraction, **asdict(options)},
        "articles": {
            "train": sorted({q.title for q in train_questions}),
            "dev": sorted({q.title for q in dev_questions}),
        },
        "counts": {"train": _counts(train), "dev": _counts(dev)},
        "files": {name: file_sha256(out / name) for name in ("train.jsonl", "dev.jsonl", "dev_squad.jsonl")},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return manifest
