"""Retrieval quality on a BEIR folder: ingest the corpus into its own collection (ingest is
idempotent, so an unchanged corpus is reused), search every judged query, score each document
by its best chunk, and compute nDCG@k, Recall@100 and MRR@k with ``ranx``.

A document's chunks that ingest recorded as duplicates of another chunk have no vector of their
own; such a document is credited right after the original chunk's document, at its rank."""

from collections.abc import Callable, Iterable, Sequence

import psycopg
from tqdm import tqdm

from core.db import connection
from core.errors import InputError
from core.settings import Settings
from evaluation.beir import BeirDataset
from evaluation.synthetic import excludes_synthetic
from models.embedder import Embedder
from retrieval.base import Searcher, SearchHit
from retrieval.filters import Filter, collection_filter, synthetic_filter
from retrieval.searcher import MODES, open_searcher

RECALL_DEPTH = 100


def metric_names(k: int) -> list[str]:
    return [f"ndcg@{k}", f"recall@{RECALL_DEPTH}", f"mrr@{k}"]


def search_depth(k: int) -> int:
    """Chunks fetched per query: twice the deepest cutoff, as a document may fill several."""
    return 2 * max(k, RECALL_DEPTH)


def source_filters(synthetic: str) -> list[Filter]:
    """What ``--synthetic`` adds to every search: nothing, or only sources not marked synthetic."""
    return [synthetic_filter(False)] if excludes_synthetic(synthetic) else []


def parse_modes(mode: str) -> list[str]:
    if mode == "all":
        return ["bm25", "dense", "hybrid"]
    if mode not in MODES:
        raise InputError(f"unknown --mode {mode!r}; expected one of: {', '.join(MODES)}, all")
    return [mode]


def evaluate_retrieval(
    settings: Settings,
    dataset: BeirDataset,
    modes: list[str],
    *,
    k: int = 10,
    embedder: Embedder | None = None,
    show_progress: bool = True,
    synthetic: str = "include",
) -> dict[str, dict[str, float]]:
    """``{mode: {metric: mean over the judged queries}}`` for each mode asked; ``synthetic``
    ``exclude`` searches only sources not marked synthetic."""
    filters = source_filters(synthetic)
    embedder = prepare_collection(settings, dataset, embedder=embedder, show_progress=show_progress)
    results = {}
    with open_searcher(settings, embedder=embedder) as searcher:
        duplicates = duplicate_documents(settings, dataset.collection)
        for mode in modes:
            run = document_run(
                searcher, dataset, mode, search_depth(k), duplicates, show_progress=show_progress, filters=filters
            )
            results[mode] = mean_metrics(dataset.qrels, run, metric_names(k))
    return results


def prepare_collection(
    settings: Settings, dataset: BeirDataset, *, embedder: Embedder | None, show_progress: bool
) -> Embedder:
    """Ingest (or refresh) the corpus into the dataset's collection; return the embedder used."""
    from ingest.pipeline import ingest_paths
    from models.embedder import load_embedder

    embedder = embedder or load_embedder(settings)
    ingest_paths(
        settings,
        [dataset.corpus_path],
        collection=dataset.collection,
        prune=True,
        embedder=embedder,
        show_progress=show_progress,
    )
    return embedder


def document_run(
    searcher: Searcher,
    dataset: BeirDataset,
    mode: str,
    depth: int,
    duplicates: dict[int, list[str]],
    *,
    show_progress: bool = True,
    filters: Sequence[Filter] = (),
) -> dict[str, dict[str, float]]:
    """``{query id: {document id: score}}`` for one mode, scores decreasing with rank; every
    search keeps to the dataset's collection and ``filters``."""
    search = _collection_search(searcher, dataset.collection, mode, depth, filters)
    items = dataset.queries.items()
    if show_progress:
        items = tqdm(items, desc=f"{mode} queries", total=len(dataset.queries), unit="query")
    return {
        qid: rank_documents([(h.chunk_id, document_id(h.source)) for h in search(text)], duplicates)
        for qid, text in items
    }


def _collection_search(
    searcher: Searcher, collection: str, mode: str, depth: int, filters: Sequence[Filter]
) -> Callable[[str], list[SearchHit]]:
    filters = [collection_filter([collection]), *filters]
    return lambda text: searcher.search(text, k=depth, mode=mode, filters=filters)


def document_id(uri: str) -> str:
    """The BEIR ``_id`` of a corpus row's source: what follows the last ``#`` of its uri."""
    return uri.rsplit("#", 1)[-1]


def rank_documents(chunks: Iterable[tuple[int, str]], duplicates: dict[int, list[str]]) -> dict[str, float]:
    """Documents in the order of their best chunk (each chunk's duplicates' documents right
    after it), scored ``-position`` so ties can never reorder them."""
    ranked: dict[str, float] = {}
    for chunk_id, doc in chunks:
        for candidate in (doc, *duplicates.get(chunk_id, ())):
            if candidate not in ranked:
                ranked[candidate] = -float(len(ranked))
    return ranked


def duplicate_documents(settings: Settings, collection: str) -> dict[int, list[str]]:
    """``{original chunk id: [document ids of chunks recorded as its duplicates]}``."""
    with connection(settings) as conn:
        return _duplicate_documents(conn, collection)


def _duplicate_documents(conn: psycopg.Connection, collection: str) -> dict[int, list[str]]:
    rows = conn.execute(
        "SELECT d.original_chunk_id, s.uri FROM duplicates d JOIN chunks c ON c.id = d.chunk_id"
        " JOIN sources s ON s.id = c.source_id JOIN collections col ON col.id = s.collection_id"
        " WHERE col.name = %s ORDER BY d.original_chunk_id, s.uri",
        (collection,),
    ).fetchall()
    found: dict[int, list[str]] = {}
    for original, uri in rows:
        found.setdefault(original, []).append(document_id(uri))
    return found


def per_query_metrics(
    qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]], metrics: list[str]
) -> dict[str, dict[str, float]]:
    """``{metric: {query id: value}}`` over every judged query (a query with no results scores 0)."""
    from ranx import Qrels, Run, evaluate

    answered = {qid: docs for qid, docs in run.items() if qid in qrels and docs}
    if not answered:
        return {m: dict.fromkeys(qrels, 0.0) for m in metrics}
    scores = evaluate(Qrels(qrels), Run(answered), metrics, return_mean=False, make_comparable=True)
    order = sorted(qrels)  # ranx returns per-query values in sorted query-id order
    return {m: dict(zip(order, map(float, scores[m] if len(metrics) > 1 else scores))) for m in metrics}


def mean_metrics(
    qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]], metrics: list[str]
) -> dict[str, float]:
    per_query = per_query_metrics(qrels, run, metrics)
    return {m: round(sum(values.values()) / len(values), 4) for m, values in per_query.items()}
