"""Duplicate detection, pure: exact duplicates by content hash, near duplicates by MinHash
LSH bands over word shingles, confirmed by the exact Jaccard of the shingle sets.

``find_duplicates`` decides for a batch of chunks, in order, against originals already known
(passed in by the caller) and against the batch's own earlier chunks."""

import hashlib
import re
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash, MinHashLSH

NUM_PERM = 128
SHINGLE_WORDS = 3
_WORD = re.compile(r"\w+")
BandKey = tuple[int, int]  # (band number, band hash)


@dataclass(frozen=True)
class Fingerprint:
    content_hash: str
    shingles: frozenset[str]
    bands: tuple[BandKey, ...]


@dataclass(frozen=True)
class Duplicate:
    kind: str  # "exact" or "near"
    original_id: int
    similarity: float


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def word_shingles(text: str) -> frozenset[str]:
    words = _WORD.findall(text.lower())
    if len(words) <= SHINGLE_WORDS:
        return frozenset([" ".join(words)])
    return frozenset(" ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


class Fingerprinter:
    """MinHash signatures cut into LSH bands for ``threshold`` (datasketch's choice, weighted
    towards recall: a false candidate only costs one exact Jaccard)."""

    def __init__(self, threshold: float):
        lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM, weights=(0.1, 0.9))
        self.bands, self.rows = lsh.b, lsh.r
        # Fixed odd multipliers fold a band's r values into one 64-bit hash, stable across runs.
        self._fold = np.random.default_rng(20240519).integers(1, 2**63, size=self.rows, dtype=np.uint64) | 1

    def fingerprints(self, texts: list[str]) -> list[Fingerprint]:
        shingle_sets = [word_shingles(text) for text in texts]
        signatures = MinHash.bulk([[s.encode() for s in shingles] for shingles in shingle_sets], num_perm=NUM_PERM)
        matrix = np.stack([m.hashvalues for m in signatures])[:, : self.bands * self.rows]
        folded = (matrix.reshape(len(texts), self.bands, self.rows) * self._fold).sum(axis=2).view(np.int64)
        return [
            Fingerprint(content_hash(text), shingles, tuple(enumerate(row.tolist())))
            for text, shingles, row in zip(texts, shingle_sets, folded)
        ]


def find_duplicates(
    ids: list[int],
    fingerprints: list[Fingerprint],
    known_hashes: dict[str, int],
    known_bands: dict[BandKey, list[int]],
    known_shingles: dict[int, frozenset[str]],
    threshold: float,
) -> list[Duplicate | None]:
    """For each chunk (in order), the original it duplicates, or None when it is new.
    New chunks become originals for the later ones; the ``known_*`` maps are updated."""
    decisions: list[Duplicate | None] = []
    for chunk_id, fp in zip(ids, fingerprints):
        decision = None
        if fp.content_hash in known_hashes:
            decision = Duplicate("exact", known_hashes[fp.content_hash], 1.0)
        else:
            candidates = {c for key in fp.bands for c in known_bands.get(key, ())}
            scored = sorted(((jaccard(fp.shingles, known_shingles[c]), -c) for c in candidates), reverse=True)
            if scored and scored[0][0] >= threshold:
                decision = Duplicate("near", -scored[0][1], round(scored[0][0], 4))
        if decision is None:
            known_hashes[fp.content_hash] = chunk_id
            known_shingles[chunk_id] = fp.shingles
            for key in fp.bands:
                known_bands.setdefault(key, []).append(chunk_id)
        decisions.append(decision)
    return decisions
