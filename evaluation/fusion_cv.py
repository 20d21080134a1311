"""Choosing the hybrid fusion from data: every candidate (RRF with several k, the convex
combination with several alpha) is scored per query on a BEIR folder, then k-fold
cross-validation over queries picks a candidate on the training folds and measures it on the
held-out fold, so the reported figure is not tuned on the queries it is measured on.

The side lists are exactly what ``HybridSearcher`` fuses for a search of the same depth (each side
``overfetch x depth``), so the winner can be set as the default without a gap."""

import random
from dataclasses import dataclass

from tqdm import tqdm

from core.settings import Settings
from evaluation.beir import BeirDataset
from evaluation.retrieval import (
    document_id,
    duplicate_documents,
    per_query_metrics,
    prepare_collection,
    rank_documents,
    search_depth,
)
from models.embedder import Embedder
from retrieval.filters import collection_filter
from retrieval.fusion import fuse
from retrieval.searcher import open_searcher

RRF_KS = (5, 10, 20, 40, 60, 100)
ALPHAS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


@dataclass(frozen=True)
class FusionConfig:
    method: str
    rrf_k: int = 60
    alpha: float = 0.5

    @property
    def name(self) -> str:
        return f"rrf k={self.rrf_k}" if self.method == "rrf" else f"convex alpha={self.alpha:.1f}"


CANDIDATES = [FusionConfig("rrf", rrf_k=k) for k in RRF_KS] + [FusionConfig("convex", alpha=a) for a in ALPHAS]


def cross_validate(per_query: dict[FusionConfig, dict[str, float]], *, folds: int = 5, seed: int = 0) -> dict:
    """Pick the best candidate on each training split, score it on the held-out fold.
    ``per_query`` maps each candidate to ``{query id: metric}``; the folds are a seeded
    shuffle of the query ids dealt round-robin. Ties go to the earlier candidate."""
    candidates = list(per_query)
    qids = sorted(per_query[candidates[0]])
    random.Random(seed).shuffle(qids)
    chosen, held_out = [], []
    for fold in range(folds):
        test = set(qids[fold::folds])
        train = [q for q in qids if q not in test]
        best = max(candidates, key=lambda c: (_mean(per_query[c], train), -candidates.index(c)))
        chosen.append(best)
        held_out.extend(per_query[best][q] for q in test)
    return {"cv": sum(held_out) / len(held_out), "chosen": [c.name for c in chosen]}


def fusion_table(per_query: dict[FusionConfig, dict[str, float]], *, folds: int = 5, seed: int = 0) -> dict:
    """Every candidate's mean over all queries, and the cross-validated figure of choosing
    within RRF, within the convex combination, and among both."""
    families = {
        "rrf": {c: v for c, v in per_query.items() if c.method == "rrf"},
        "convex": {c: v for c, v in per_query.items() if c.method == "convex"},
        "both": per_query,
    }
    return {
        "candidates": {c.name: round(_mean(v, list(v)), 4) for c, v in per_query.items()},
        "cross_validation": {
            family: {**result, "cv": round(result["cv"], 4)}
            for family, scores in families.items()
            if scores
            for result in [cross_validate(scores, folds=folds, seed=seed)]
        },
    }


def fusion_study(
    settings: Settings,
    dataset: BeirDataset,
    *,
    k: int = 10,
    folds: int = 5,
    embedder: Embedder | None = None,
    show_progress: bool = True,
) -> dict:
    """``fusion_table`` for nDCG@k on ``dataset``, searching as ``rag eval retrieval`` does."""
    embedder = prepare_collection(settings, dataset, embedder=embedder, show_progress=show_progress)
    depth = search_depth(k)
    fetch = depth * settings.overfetch
    filters = [collection_filter([dataset.collection])]
    sides: dict[str, tuple[list, list]] = {}
    doc_of: dict[int, str] = {}
    with open_searcher(settings, embedder=embedder) as searcher:
        duplicates = duplicate_documents(settings, dataset.collection)
        items = dataset.queries.items()
        if show_progress:
            items = tqdm(items, desc="side lists", total=len(dataset.queries), unit="query")
        for qid, text in items:
            lists = []
            for mode in ("bm25", "dense"):
                hits = searcher.search(text, k=fetch, mode=mode, filters=filters)
                doc_of.update((h.chunk_id, document_id(h.source)) for h in hits)
                lists.append([(h.chunk_id, h.score) for h in hits])
            sides[qid] = (lists[0], lists[1])
    metric = f"ndcg@{k}"
    per_query = {}
    for config in CANDIDATES:
        run = {
            qid: rank_documents(
                (
                    (cid, doc_of[cid])
                    for cid, _ in fuse(bm25, dense, method=config.method, rrf_k=config.rrf_k, alpha=config.alpha)[
                        :depth
                    ]
                ),
                duplicates,
            )
            for qid, (bm25, dense) in sides.items()
        }
        per_query[config] = per_query_metrics(dataset.qrels, run, [metric])[metric]
    return {"metric": metric, "folds": folds, **fusion_table(per_query, folds=folds)}


def _mean(values: dict[str, float], qids: list[str]) -> float:
    return sum(values[q] for q in qids) / len(qids)
