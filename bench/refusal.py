"""Choose ``RAG_REFUSAL_THRESHOLD`` from data: the relevance gate's signal (``answering.answer``:
the best cosine of a 30-word window of the retrieved passages, at the service's default k) for
questions the corpus answers against questions it does not.

The SQuAD sample's paragraphs of all but ``--held-out`` articles are ingested into their own
collection; answerable questions come from the ingested articles, unanswerable ones from the
held-out articles (same style, other topics). For each threshold the table gives the share of
answerable questions kept, of unanswerable ones refused, and the accuracy over both.

    nice -n 10 .venv/bin/python -m bench.refusal --squad ../shared/data/squad/train_sample.jsonl --json
"""

import argparse
import hashlib
import json
import random
import sys
import tempfile
from pathlib import Path

from answering.answer import focus
from core.settings import Settings
from ingest.pipeline import ingest_paths
from models.policy import default_policy
from retrieval.filters import collection_filter
from retrieval.searcher import open_searcher

THRESHOLDS = [round(0.05 * i, 2) for i in range(3, 15)]


def split_articles(rows: list[dict], held_out: int, seed: int) -> tuple[set[str], set[str]]:
    titles = sorted({row["title"] for row in rows})
    random.Random(seed).shuffle(titles)
    return set(titles[held_out:]), set(titles[:held_out])


def write_corpus(rows: list[dict], titles: set[str], folder: Path) -> Path:
    """One JSONL source per distinct paragraph of ``titles``."""
    path = folder / "squad_paragraphs.jsonl"
    seen = set()
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            key = hashlib.sha256(row["context"].encode()).hexdigest()[:16]
            if row["title"] in titles and key not in seen:
                seen.add(key)
                out.write(
                    json.dumps({"id": key, "title": row["title"].replace("_", " "), "text": row["context"]}) + "\n"
                )
    return path


def sweep(answerable: list[float], unanswerable: list[float]) -> list[dict]:
    table = []
    for threshold in THRESHOLDS:
        kept = sum(score >= threshold for score in answerable) / len(answerable)
        refused = sum(score < threshold for score in unanswerable) / len(unanswerable)
        accuracy = (kept * len(answerable) + refused * len(unanswerable)) / (len(answerable) + len(unanswerable))
        table.append(
            {
                "threshold": threshold,
                "answerable_kept": round(kept, 3),
                "unanswerable_refused": round(refused, 3),
                "accuracy": round(accuracy, 3),
            }
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--squad", type=Path, required=True, help="the flat SQuAD JSONL sample")
    parser.add_argument("--held-out", type=int, default=4, help="articles left out of the corpus")
    parser.add_argument("--questions", type=int, default=100, help="questions of each kind")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--collection", default="refusal-squad")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    args = parser.parse_args()

    settings = Settings()
    rows = [json.loads(line) for line in args.squad.open(encoding="utf-8") if line.strip()]
    inside, outside = split_articles(rows, args.held_out, args.seed)
    with tempfile.TemporaryDirectory() as folder:
        ingest_paths(settings, [write_corpus(rows, inside, Path(folder))], collection=args.collection)
    rng = random.Random(args.seed)
    asked = {
        "answerable": rng.sample([r["question"] for r in rows if r["title"] in inside], args.questions),
        "unanswerable": rng.sample([r["question"] for r in rows if r["title"] in outside], args.questions),
    }
    scores: dict[str, list[float]] = {}
    with open_searcher(settings) as searcher:
        only = [collection_filter([args.collection])]
        for kind, questions in asked.items():
            scores[kind] = [
                focus(
                    searcher.embedder,
                    q,
                    [h.text for h in searcher.search(q, k=settings.default_k, filters=only)],
                    default_policy(settings),
                ).relevance
                for q in questions
            ]
    table = sweep(scores["answerable"], scores["unanswerable"])
    best = max(table, key=lambda row: (row["accuracy"], -row["threshold"]))
    report = {"held_out_articles": sorted(outside), "questions_per_kind": args.questions, "table": table, "best": best}
    if args.json:
        print(json.dumps(report))
        return
    for row in table:
        print(
            f"{row['threshold']:.2f}  kept {row['answerable_kept']:.3f}  refused {row['unanswerable_refused']:.3f}"
            f"  accuracy {row['accuracy']:.3f}",
            file=sys.stdout,
        )


if __name__ == "__main__":
    main()
