"""A SQuAD file's paragraphs as a searchable collection: one JSONL row per paragraph (its id
is the ``squad:TITLE/N`` source name), ingested into a collection of its own, searched with
the hybrid retriever. Used for hard negatives and by ``rag eval qa --context retrieved``."""

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from core.settings import Settings
from evaluation.squad import SquadQuestion, paragraph_sources
from models.embedder import Embedder, load_embedder
from retrieval.filters import Filter, collection_filter

# query, n -> [(text, source name)], best first
Search = Callable[[str, int], list[tuple[str, str]]]


def write_paragraph_corpus(settings: Settings, squad: Path, questions: list[SquadQuestion]) -> tuple[Path, str]:
    """The JSONL corpus under ``data_dir/qa_corpus`` and its collection name."""
    collection = "squad-" + "".join(c if c.isalnum() else "-" for c in squad.stem.lower())
    folder = settings.data_dir / "qa_corpus"
    folder.mkdir(parents=True, exist_ok=True)
    corpus = folder / f"{collection}.jsonl"
    titles = {q.context: q.title for q in questions}
    rows = [
        json.dumps({"id": source, "text": context, "metadata": {"article": titles[context]}}, ensure_ascii=False)
        for context, source in paragraph_sources(questions).items()
    ]
    corpus.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return corpus, collection


def ingest_paragraphs(settings: Settings, squad: Path, questions: list[SquadQuestion], embedder: Embedder) -> str:
    """Ingest the paragraphs (idempotent: an unchanged file is reused); return their collection."""
    from ingest.pipeline import ingest_paths

    corpus, collection = write_paragraph_corpus(settings, squad, questions)
    ingest_paths(settings, [corpus], collection=collection, prune=True, embedder=embedder)
    return collection


@contextmanager
def paragraph_search(
    settings: Settings,
    squad: Path,
    questions: list[SquadQuestion],
    filters: Sequence[Filter] = (),
    *,
    embedder: Embedder | None = None,
) -> Iterator[Search]:
    """Ingest the paragraphs (idempotent: an unchanged file is reused) and yield a hybrid search
    restricted to their collection and ``filters``, with ``embedder`` (default: MiniLM)."""
    from retrieval.searcher import open_searcher

    embedder = embedder or load_embedder(settings)
    collection = ingest_paragraphs(settings, squad, questions, embedder)
    with open_searcher(settings, embedder=embedder) as searcher:

        def search(query: str, n: int) -> list[tuple[str, str]]:
            hits = searcher.search(query, k=n, mode="hybrid", filters=[collection_filter([collection]), *filters])
            return [(h.text, h.source.rsplit("#", 1)[-1]) for h in hits]

        yield search
