"""The keyword side: BM25 over the searchable chunks (``index.bm25``), with filters turned
into the allowed chunk ids the index masks its scores with."""

from collections.abc import Callable

import numpy as np

from index.bm25 import Bm25Index
from index.ranked import Ranked
from retrieval.filters import Filter


class Bm25Retriever:
    """The keyword side: a ``Bm25Index`` and a function giving the ids a filter allows."""

    def __init__(self, index: Bm25Index, allowed: Callable[[list[Filter]], np.ndarray]):
        self.index = index
        self.allowed = allowed

    def search(self, query: str, k: int, filters: list[Filter] | None = None) -> Ranked:
        return self.index.top(query, k, self.allowed(filters) if filters else None)
