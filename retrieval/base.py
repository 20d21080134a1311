"""The seam every retriever implements: ranked ``(chunk_id, score)`` pairs, best first,
with the filters applied inside the retriever so ``k`` results still come back."""

from typing import Protocol

from index.ranked import Ranked
from retrieval.filters import Filter


class Retriever(Protocol):
    def search(self, query: str, k: int, filters: list[Filter] | None = None) -> Ranked:
        """The ``k`` best searchable chunks for ``query`` that pass every filter."""
        ...
