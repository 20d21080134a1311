"""Fusion of ranked lists: pure functions, no I/O. Both return ``(chunk_id, score)`` best
first with scores in [0, 1], so the top score means the same thing for every query:

- reciprocal rank fusion: ``sum 1 / (k + rank)`` over the lists, divided by its maximum
  ``n_lists / (k + 1)``; 1.0 = first in every list, 0.5 = first in one of two lists only;
- convex combination: ``sum w_i * minmax_i(score)``, each list min-max normalised over what it
  returned (a chunk missing from a list gets 0 there); 1.0 = best in every list.

Ties are broken by the best rank the chunk reached in any list, then by chunk id, so the
order never depends on dict or set iteration."""

from collections.abc import Sequence

from core.errors import InputError
from index.ranked import Ranked

METHODS = ("rrf", "convex")


def reciprocal_rank_fusion(lists: Sequence[Ranked], *, k: int = 60) -> Ranked:
    if k < 0:
        raise InputError(f"RRF k must be >= 0; got {k}")
    scores: dict[int, float] = {}
    for ranked in lists:
        for rank, (chunk_id, _) in enumerate(ranked, start=1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + 1.0 / (k + rank)
    scale = (k + 1) / len(lists) if lists else 1.0
    return _ordered({cid: s * scale for cid, s in scores.items()}, lists)


def convex_combination(lists: Sequence[Ranked], weights: Sequence[float]) -> Ranked:
    if len(lists) != len(weights) or any(w < 0 for w in weights) or abs(sum(weights) - 1) > 1e-9:
        raise InputError(f"convex weights must be one per list, >= 0, summing to 1; got {list(weights)}")
    scores: dict[int, float] = {}
    for ranked, weight in zip(lists, weights):
        for chunk_id, normalised in _min_max(ranked):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + weight * normalised
    return _ordered(scores, lists)


def fuse(bm25: Ranked, dense: Ranked, *, method: str, rrf_k: int = 60, alpha: float = 0.5) -> Ranked:
    """Hybrid fusion of the two sides; ``alpha`` is the dense side's weight in ``convex``."""
    if method == "rrf":
        return reciprocal_rank_fusion([bm25, dense], k=rrf_k)
    if method == "convex":
        if not 0 <= alpha <= 1:
            raise InputError(f"fusion alpha must be in [0, 1]; got {alpha}")
        return convex_combination([bm25, dense], [1 - alpha, alpha])
    raise InputError(f"unknown fusion method {method!r}; expected one of: {', '.join(METHODS)}")


def _min_max(ranked: Ranked) -> list[tuple[int, float]]:
    if not ranked:
        return []
    values = [s for _, s in ranked]
    low, high = min(values), max(values)
    if high == low:
        return [(cid, 1.0) for cid, _ in ranked]
    return [(cid, (s - low) / (high - low)) for cid, s in ranked]


def _ordered(scores: dict[int, float], lists: Sequence[Ranked]) -> Ranked:
    best_rank: dict[int, int] = {}
    for ranked in lists:
        for rank, (chunk_id, _) in enumerate(ranked):
            best_rank[chunk_id] = min(rank, best_rank.get(chunk_id, rank))
    return sorted(scores.items(), key=lambda item: (-item[1], best_rank[item[0]], item[0]))
