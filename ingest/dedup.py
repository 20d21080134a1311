"""Duplicate detection, pure: exact duplicates by content hash, near duplicates by MinHash
LSH bands over word shingles, confirmed by the exact Jaccard of the shingle sets.

``find_duplicates`` decides for a batch of items, in order, against originals already known
(passed in by the caller) and against the batch's own earlier items. It runs twice per batch:
over whole sources (their cleaned text), then over chunks. A chunk that matches no chunk but
whose source nearly duplicates another is a "source" duplicate when its shingles are
*contained* in that original source: an edit that moves chunk boundaries changes every chunk's
Jaccard, not the containment."""

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice, repeat

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
    kind: str  # "exact", "near" or "source" (contained in the original of a near-duplicate source)
    original_id: int
    similarity: float


@dataclass(frozen=True)
class OriginalSource:
    """The source a near-duplicate source copies: the shingles of its whole text, and its
    chunks as (id of the searchable chunk holding that chunk's text, the chunk's shingles)."""

    shingles: frozenset[str]
    chunks: tuple[tuple[int, frozenset[str]], ...]


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def word_shingles(text: str) -> frozenset[str]:
    words = _WORD.findall(text.lower())
    if len(words) <= SHINGLE_WORDS:
        return frozenset([" ".join(words)])
    return frozenset(" ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def containment(part: frozenset[str], whole: frozenset[str]) -> float:
    """The share of ``part``'s shingles found in ``whole``."""
    return len(part & whole) / len(part) if part else 1.0


def rebuild_text(spans: list[tuple[int, int, str]]) -> str:
    """The text that chunks ``(start, end, text)``, in order, were cut from, as shingles see it:
    overlaps are kept once, and a gap between two chunks (only whitespace lies there) is one space."""
    parts: list[str] = []
    covered = 0
    for start, end, text in spans:
        if end <= covered:
            continue
        if parts and start > covered:
            parts.append(" ")
        parts.append(text[max(covered - start, 0) :])
        covered = end
    return "".join(parts)


_EMPTY = MinHash(num_perm=NUM_PERM)
_SLICE = 20_000  # shingles hashed at once: MinHash's temporaries are shingles x permutations x 8 bytes


def _signature(shingles: frozenset[str]) -> np.ndarray:
    """The MinHash values of ``shingles``, hashed a slice at a time (a whole 5 MB text has
    ~10^6 shingles: at once, ~1 GB of temporaries)."""
    minhash = _EMPTY.copy()
    items = iter(shingles)
    while batch := [s.encode() for s in islice(items, _SLICE)]:
        minhash.update_batch(batch)
    return minhash.hashvalues


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
        matrix = np.stack([_signature(shingles) for shingles in shingle_sets])[:, : self.bands * self.rows]
        folded = (matrix.reshape(len(texts), self.bands, self.rows) * self._fold).sum(axis=2).view(np.int64)
        return [
            Fingerprint(content_hash(text), shingles, tuple(enumerate(row.tolist())))
            for text, shingles, row in zip(texts, shingle_sets, folded)
        ]


def containment_threshold(jaccard_threshold: float) -> float:
    """The containment that allows a chunk as much new text as Jaccard ``t`` allows between two
    chunks of one size: there, shared/size >= 2t / (1 + t) (0.89 for 0.8), so a chunk carrying a
    new sentence is no more likely to be dropped from search here than at the chunk level."""
    return 2 * jaccard_threshold / (1 + jaccard_threshold)


def contained_duplicate(shingles: frozenset[str], original: OriginalSource, threshold: float) -> Duplicate | None:
    """A "source" duplicate when ``shingles`` lie in the original source at least as much as
    Jaccard ``threshold`` asks of two chunks (``containment_threshold``), pointing at its chunk
    that shares the most shingles (the first on a tie)."""
    similarity = containment(shingles, original.shingles)
    if similarity < containment_threshold(threshold) or not original.chunks:
        return None
    chunk_id, _ = max(original.chunks, key=lambda chunk: len(shingles & chunk[1]))
    return Duplicate("source", chunk_id, round(similarity, 4))


def find_duplicates(
    ids: list[int],
    fingerprints: list[Fingerprint],
    known_hashes: dict[str, int],
    known_bands: dict[BandKey, list[int]],
    known_shingles: dict[int, frozenset[str]],
    threshold: float,
    originals: Sequence[OriginalSource | None] = (),
) -> list[Duplicate | None]:
    """For each item (in order), the original it duplicates, or None when it is new.
    New items become originals for the later ones; the ``known_*`` maps are updated.

    ``originals`` (one per item, for chunks) names the original of the item's source when that
    source is a near duplicate: an item matching no known one is then checked for containment
    in it. A "source" duplicate pointing at a chunk of this batch that is itself a duplicate
    points at that chunk's original instead, so an original is always a searchable chunk."""
    decisions: list[Duplicate | None] = []
    resolved: dict[int, int] = {}  # duplicate id in this batch -> its original
    for item_id, fp, original in zip(ids, fingerprints, originals or repeat(None)):
        decision = None
        if fp.content_hash in known_hashes:
            decision = Duplicate("exact", known_hashes[fp.content_hash], 1.0)
        else:
            candidates = {c for key in fp.bands for c in known_bands.get(key, ())}
            scored = sorted(((jaccard(fp.shingles, known_shingles[c]), -c) for c in candidates), reverse=True)
            if scored and scored[0][0] >= threshold:
                decision = Duplicate("near", -scored[0][1], round(scored[0][0], 4))
        if decision is None and original is not None:
            contained = contained_duplicate(fp.shingles, original, threshold)
            if contained is not None:
                target = contained.original_id
                decision = Duplicate("source", resolved.get(target, target), contained.similarity)
        if decision is not None:
            resolved[item_id] = decision.original_id
        else:
            known_hashes[fp.content_hash] = item_id
            known_shingles[item_id] = fp.shingles
            for key in fp.bands:
                known_bands.setdefault(key, []).append(item_id)
        decisions.append(decision)
    return decisions
