"""Okapi BM25 (Lucene variant: ``idf = ln(1 + (N - df + 0.5) / (df + 0.5))``,
``tf / (tf + k1 * (1 - b + b * dl / avgdl))``) over the searchable chunks, with ``bm25s``
doing the sparse scoring. Text is lower-cased, split into words of two or more letters or
digits, English stopwords dropped and Snowball-stemmed, the same way for chunks and queries.

``top`` takes the allowed chunk ids (a filter's, from ``retrieval``) and masks the full score
vector before top-k, so a filtered search still returns ``k`` results when ``k`` chunks match."""

import json
import re
import threading
from functools import cache
from pathlib import Path

import numpy as np

from index.ranked import Ranked

_WORD = re.compile(r"(?u)\b\w\w+\b")
_stemmers = threading.local()  # PyStemmer objects are not thread-safe: one per thread


def tokenize(text: str) -> list[str]:
    """The BM25 terms of ``text``: lower-cased words, stopwords removed, stemmed."""
    stopwords = _stopwords()
    words = [w for w in _WORD.findall(text.lower()) if w not in stopwords]
    return _stemmer().stemWords(words)


@cache
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN  # Lucene's English list, as bm25s "en" uses

    return frozenset(STOPWORDS_EN)


def _stemmer():
    if not hasattr(_stemmers, "english"):
        import Stemmer

        _stemmers.english = Stemmer.Stemmer("english")
    return _stemmers.english


class Bm25Index:
    """A BM25 index over chunks: ``chunk_ids`` (ascending) are the documents, in order."""

    def __init__(self, model, chunk_ids: np.ndarray):
        self.model = model
        self.chunk_ids = chunk_ids

    @classmethod
    def build(cls, chunk_ids: list[int], texts: list[str], *, k1: float, b: float) -> "Bm25Index":
        import bm25s

        order = np.argsort(np.asarray(chunk_ids, dtype=np.int64), kind="stable")
        ids = np.asarray(chunk_ids, dtype=np.int64)[order]
        model = bm25s.BM25(k1=k1, b=b, method="lucene")
        if len(ids):
            model.index([tokenize(texts[i]) for i in order], show_progress=False)
        return cls(model, ids)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "chunk_ids.npy", self.chunk_ids)
        params = {"k1": self.model.k1, "b": self.model.b}
        (folder / "bm25.json").write_text(json.dumps(params))
        if len(self.chunk_ids):
            self.model.save(str(folder / "bm25s"), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> "Bm25Index":
        import bm25s

        ids = np.load(folder / "chunk_ids.npy")
        if len(ids):
            model = bm25s.BM25.load(str(folder / "bm25s"), show_progress=False)
        else:
            model = bm25s.BM25(**json.loads((folder / "bm25.json").read_text()), method="lucene")
        return cls(model, ids)

    def __len__(self) -> int:
        return len(self.chunk_ids)

    def scores(self, query: str) -> np.ndarray:
        """The BM25 score of every chunk, aligned with ``chunk_ids``."""
        if not len(self.chunk_ids):
            return np.zeros(0, dtype=np.float32)
        token_ids = self.model.get_tokens_ids(tokenize(query))
        return self.model.get_scores_from_ids(token_ids)

    def top(self, query: str, k: int, allowed_ids: np.ndarray | None = None) -> Ranked:
        """The ``k`` best chunks with a positive score, among ``allowed_ids`` when given."""
        scores = self.scores(query)
        if allowed_ids is not None:
            scores = scores * self.mask(allowed_ids)
        candidates = np.flatnonzero(scores > 0)
        if len(candidates) > k:
            candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
        ranked = sorted(((int(self.chunk_ids[i]), float(scores[i])) for i in candidates), key=lambda p: (-p[1], p[0]))
        return ranked[:k]

    def mask(self, allowed_ids: np.ndarray) -> np.ndarray:
        """1.0 where the chunk is allowed, else 0.0, aligned with ``chunk_ids``."""
        mask = np.zeros(len(self.chunk_ids), dtype=np.float32)
        positions = np.searchsorted(self.chunk_ids, allowed_ids)
        inside = positions < len(self.chunk_ids)
        found = positions[inside][self.chunk_ids[positions[inside]] == allowed_ids[inside]]
        mask[found] = 1.0
        return mask
