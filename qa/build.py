"""``rag data build-qa``: SQuAD -> train.jsonl, dev.jsonl (records), dev_squad.jsonl (the dev
articles' questions, for ``rag eval qa``) and manifest.json (input sha256, parameters,
counts, output sha256s). Same input and parameters, same bytes out."""

import json
from dataclasses import asdict
from pathlib import Path

from models.artifact import file_sha256
from models.prompt import REFUSAL
from qa.records import Neighbours, RecordOptions, build_records
from qa.squad import read_squad, split_by_article, write_flat_squad


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


def build_qa(
    squad: Path,
    out: Path,
    *,
    dev_fraction: float,
    options: RecordOptions,
    neighbours: Neighbours | None = None,
) -> dict:
    """Build the dataset into ``out`` and return its manifest."""
    questions = read_squad(squad)
    train_questions, dev_questions = split_by_article(questions, dev_fraction=dev_fraction, seed=options.seed)
    out.mkdir(parents=True, exist_ok=True)
    train = build_records(train_questions, refusal=REFUSAL, options=options, neighbours=neighbours)
    dev = build_records(dev_questions, refusal=REFUSAL, options=options, neighbours=neighbours)
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
