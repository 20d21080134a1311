"""The seams of retrieval. ``Retriever``: one side (keyword or dense), ranked ``(chunk_id,
score)`` pairs, best first, with the filters applied inside so ``k`` results still come back.
``Searcher``: what callers search through (answering, the service, evaluation, replay):
hydrated ``SearchHit``s in a mode, and the query embedder the relevance gate uses. The
implementation is ``retrieval.searcher.HybridSearcher``; tests use a fixed stand-in. Each
Protocol has one shared suite every implementation passes: ``tests/retrieval/test_base.py``
(``RetrieverContract``) and ``tests/retrieval/test_searcher_contract.py`` (``SearcherContract``)."""

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from index.ranked import Ranked
from models.embedder import Embedder
from retrieval.filters import Filter


class Retriever(Protocol):
    """One side of a search: ranked ``(chunk_id, score)`` pairs, at most ``k``, best first."""

    def search(self, query: str, k: int, filters: list[Filter] | None = None) -> Ranked:
        """The ``k`` best searchable chunks for ``query`` that pass every filter."""
        ...


@dataclass
class SearchHit:
    chunk_id: int
    source: str
    collection: str
    text: str
    span: tuple[int, int]
    metadata: dict
    score: float
    scores: dict = field(default_factory=dict)
    pages: list[int] = field(default_factory=list)  # PDF pages the chunk spans, the first to show first

    def to_json(self) -> dict[str, Any]:
        document = asdict(self)
        document["span"] = list(self.span)
        return document


class Searcher(Protocol):
    """What callers search through: hydrated hits in a mode (``"hybrid"``, ``"bm25"`` or
    ``"dense"``: ``retrieval.searcher.MODES``), and the query embedder."""

    embedder: Embedder  # embeds the question for the relevance gate (``answering.answer.focus``)

    def search(
        self, query: str, *, k: int = 10, mode: str = "hybrid", filters: list[Filter] | None = None
    ) -> list[SearchHit]:
        """The ``k`` best chunks for ``query`` in ``mode`` that pass every filter, best first
        (fewer when fewer match), each with its mode's ``score``."""
        ...

    def close(self) -> None:
        """Release what the searcher holds (threads, its own pool)."""
        ...
