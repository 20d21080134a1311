"""``BatchingQueryEmbedder``: the searcher's query embedder, shared by every request thread.

Concurrent searches each need one query embedded. One at a time behind a lock (a fast tokenizer
must not be used by two threads at once), a search under load waits for every embedding queued
before it. Here the queries waiting at one moment go in ONE forward instead:

* a caller of ``embed_one`` queues its query; if no caller is leading, it leads: it takes every
  query waiting (up to ``max_batch``), embeds them in one forward and hands each caller its row,
  then repeats until its own query is done and passes the lead to the oldest one still waiting.
  The others wait on their own event (no polling); a caller alone embeds at once, as before.
* an LRU cache of normalised query text (whitespace collapsed) to vector sits in front, so a
  repeated query costs no forward; ``cache_size=0`` disables it.
* ``embed(texts)`` of several texts (the answer's relevance gate: question and windows) goes
  straight to the embedder, under the same lock as the batch forwards; one text is a query.

Every other attribute (``dimension``, ``tokenizer``, ...) is the wrapped embedder's, so this is
an ``Embedder`` too."""

import threading
from collections import OrderedDict

import numpy as np

from models.embedder import Embedder


def normalise(text: str) -> str:
    """The cache key and the text embedded: runs of whitespace collapsed to one space, trimmed
    (the model's tokenizer splits on whitespace, so the vector is the same)."""
    return " ".join(text.split())


class _Waiter:
    """One queued query: set when its row (or the forward's error) is in, or when it must lead."""

    def __init__(self, key: str):
        self.key = key
        self.row: np.ndarray | None = None
        self.error: BaseException | None = None
        self.lead = False
        self.event = threading.Event()

    @property
    def done(self) -> bool:
        return self.row is not None or self.error is not None


class BatchingQueryEmbedder:
    """Query embeddings of concurrent callers batched into shared forwards, with an LRU cache."""

    def __init__(self, embedder: Embedder, *, max_batch: int = 32, cache_size: int = 1024):
        if max_batch < 1 or cache_size < 0:
            raise ValueError(f"max_batch must be >= 1 and cache_size >= 0; got {max_batch}, {cache_size}")
        self._embedder = embedder
        self.max_batch, self.cache_size = max_batch, cache_size
        self._forward_lock = threading.Lock()  # one forward at a time: the tokenizer is not thread-safe
        self._state_lock = threading.Lock()  # the queue, the lead, the cache and the counters
        self._pending: list[_Waiter] = []
        self._leading = False
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._stats = {"hits": 0, "misses": 0, "forwards": 0}

    def embed_one(self, text: str) -> np.ndarray:
        """The vector of one query: from the cache, or from a forward shared with the queries
        waiting at the same time."""
        waiter = _Waiter(normalise(text))
        with self._state_lock:
            cached = self._cached(waiter.key)
            if cached is not None:
                return cached
            self._pending.append(waiter)
            if not self._leading:
                self._leading = waiter.lead = True
        if not waiter.lead:
            waiter.event.wait()
        if not waiter.done:  # leading: from the start, or handed the lead
            self._lead(waiter)
        if waiter.error is not None:
            raise waiter.error
        return waiter.row.copy()

    def embed(self, texts: list[str]) -> np.ndarray:
        """``Embedder.embed``: one text is a query (batched, cached); several go straight to the
        embedder, under the forwards' lock."""
        if len(texts) == 1:
            return self.embed_one(texts[0])[None, :]
        with self._forward_lock:
            return self._embedder.embed(texts)

    def cache_info(self) -> dict:
        """Cache hits and misses, forwards run and cached queries, since creation or ``cache_clear``."""
        with self._state_lock:
            return {**self._stats, "size": len(self._cache), "max_size": self.cache_size}

    def cache_clear(self) -> None:
        """Forget the cached vectors and reset the counters."""
        with self._state_lock:
            self._cache.clear()
            self._stats = dict.fromkeys(self._stats, 0)

    def __getattr__(self, name: str):
        if name == "_embedder":  # not set yet (copy, unpickling): no delegation loop
            raise AttributeError(name)
        return getattr(self._embedder, name)

    def _cached(self, key: str) -> np.ndarray | None:
        """The cached vector of ``key`` (a copy, marked recent) or None; counts the lookup.
        Called under the state lock."""
        row = self._cache.get(key)
        if row is None:
            self._stats["misses"] += 1
            return None
        self._stats["hits"] += 1
        self._cache.move_to_end(key)
        return row.copy()

    def _lead(self, waiter: _Waiter) -> None:
        """Run batches of the waiting queries until ``waiter``'s is done, then pass the lead on."""
        while not waiter.done:
            with self._state_lock:
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
            self._forward(batch)
        with self._state_lock:
            if self._pending:
                successor = self._pending[0]
                successor.lead = True
                successor.event.set()
            else:
                self._leading = False

    def _forward(self, batch: list[_Waiter]) -> None:
        """One forward over the batch's distinct texts; each waiter gets its row or the error."""
        texts = list(dict.fromkeys(w.key for w in batch))
        try:
            with self._forward_lock:
                rows = self._embedder.embed(texts)
            if len(rows) != len(texts):
                raise RuntimeError(f"the embedder returned {len(rows)} vectors for {len(texts)} texts")
            by_text = {text: np.array(row) for text, row in zip(texts, rows)}  # own copies: the cache keeps them
        except BaseException as error:  # every waiter of the batch sees it; the next batch runs
            for w in batch:
                w.error = error
                w.event.set()
            return
        with self._state_lock:
            self._stats["forwards"] += 1
            if self.cache_size:
                for text, row in by_text.items():
                    self._cache[text] = row
                    self._cache.move_to_end(text)
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        for w in batch:
            w.row = by_text[w.key]
            w.event.set()
