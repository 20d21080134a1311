from ingest.chunking import chunk_text
from ingest.dedup import (
    Duplicate,
    Fingerprinter,
    OriginalSource,
    contained_duplicate,
    containment,
    containment_threshold,
    find_duplicates,
    jaccard,
    rebuild_text,
    word_shingles,
)
from tests.ingest.prose import CHUNKING, DOCUMENT, NEW_PARAGRAPH, ONE_WORD_EDIT, PARAGRAPH_EDIT

BASE = (
    "Dataset versioning records the exact bytes of every file used to train a model, so an "
    "experiment can be rebuilt months later and compared with the next one."
)
NEAR = BASE.replace("months later", "many months later")
OTHER = "Hybrid search fuses the BM25 ranking and the vector ranking with reciprocal rank fusion."


def test_word_shingles_and_jaccard():
    assert word_shingles("A b c d") == {"a b c", "b c d"}
    assert word_shingles("one two") == {"one two"}
    assert jaccard(word_shingles(BASE), word_shingles(NEAR)) >= 0.8
    assert jaccard(word_shingles(BASE), word_shingles(OTHER)) < 0.1


def test_exact_and_near_duplicates_within_a_batch():
    fps = Fingerprinter(0.8).fingerprints([BASE, OTHER, BASE, NEAR])
    decisions = find_duplicates([1, 2, 3, 4], fps, {}, {}, {}, 0.8)
    assert decisions[:3] == [None, None, Duplicate("exact", 1, 1.0)]
    assert decisions[3].kind == "near" and decisions[3].original_id == 1 and decisions[3].similarity >= 0.8


def test_known_originals_are_matched():
    fingerprinter = Fingerprinter(0.8)
    (known,) = fingerprinter.fingerprints([BASE])
    bands = {key: [50] for key in known.bands}
    fps = fingerprinter.fingerprints([NEAR, BASE])
    decisions = find_duplicates([60, 61], fps, {known.content_hash: 50}, bands, {50: known.shingles}, 0.8)
    assert [d.original_id for d in decisions] == [50, 50]
    assert [d.kind for d in decisions] == ["near", "exact"]


def test_below_threshold_is_not_a_duplicate():
    fps = Fingerprinter(0.95).fingerprints([BASE, NEAR])
    assert find_duplicates([1, 2], fps, {}, {}, {}, 0.95) == [None, None]


def test_containment_is_the_share_of_a_part_found_in_the_whole():
    whole = word_shingles("a b c d e f")
    assert containment(word_shingles("b c d e"), whole) == 1.0
    assert containment(word_shingles("d e f g h"), whole) == 1 / 3


def test_rebuild_text_keeps_overlaps_once_and_words_apart():
    text = "one two three. four five six. seven"
    spans = [(0, 14, "one two three."), (8, 29, "three. four five six."), (30, 35, "seven")]
    assert rebuild_text(spans) == "one two three. four five six. seven"
    assert rebuild_text([(0, 3, "one"), (0, 3, "one"), (4, 7, "two")]) == "one two"
    assert word_shingles(rebuild_text(spans)) == word_shingles(text)


def test_rebuild_text_from_real_chunks_has_the_shingles_of_the_text(fake_embedder):
    chunks = chunk_text(DOCUMENT, fake_embedder.tokenizer, CHUNKING["chunk_tokens"], CHUNKING["chunk_overlap"])
    assert len(chunks) > 2 and any(b.start < a.end for a, b in zip(chunks, chunks[1:]))  # they overlap
    assert word_shingles(rebuild_text([(c.start, c.end, c.text) for c in chunks])) == word_shingles(DOCUMENT)


def _chunks(text, tokenizer):
    return [c.text for c in chunk_text(text, tokenizer, CHUNKING["chunk_tokens"], CHUNKING["chunk_overlap"])]


def _decide(original_texts, copy_texts, originals=()):
    """Chunk decisions for the copy, with the original's chunks (ids 1..) known and searchable."""
    fingerprinter = Fingerprinter(0.8)
    known = fingerprinter.fingerprints(original_texts)
    ids = list(range(1, len(known) + 1))
    bands: dict = {}
    for chunk_id, fp in zip(ids, known):
        for key in fp.bands:
            bands.setdefault(key, []).append(chunk_id)
    copies = fingerprinter.fingerprints(copy_texts)
    return find_duplicates(
        list(range(100, 100 + len(copies))),
        copies,
        {fp.content_hash: i for i, fp in zip(ids, known)},
        bands,
        {i: fp.shingles for i, fp in zip(ids, known)},
        0.8,
        [originals] * len(copies) if originals else (),
    )


def _original(texts):
    return OriginalSource(word_shingles(DOCUMENT), tuple((i, word_shingles(t)) for i, t in enumerate(texts, 1)))


def test_a_one_word_edit_that_moves_chunk_boundaries_is_caught_by_containment(fake_embedder):
    original, copy = _chunks(DOCUMENT, fake_embedder.tokenizer), _chunks(ONE_WORD_EDIT, fake_embedder.tokenizer)
    assert copy != original and len(copy) == len(original)  # the same words, other boundaries
    assert all(d is None for d in _decide(original, copy))  # the chunk level misses every chunk
    assert jaccard(word_shingles(DOCUMENT), word_shingles(ONE_WORD_EDIT)) >= 0.8
    decisions = _decide(original, copy, _original(original))
    assert [d.kind for d in decisions] == ["source"] * len(copy)
    assert all(d.similarity >= 0.8 for d in decisions)
    # each copy points at the original chunk sharing most of its shingles: here, the same position
    assert [d.original_id for d in decisions] == list(range(1, len(original) + 1))


def test_a_chunk_of_new_text_in_a_near_duplicate_source_stays_new(fake_embedder):
    original, copy = _chunks(DOCUMENT, fake_embedder.tokenizer), _chunks(PARAGRAPH_EDIT, fake_embedder.tokenizer)
    assert jaccard(word_shingles(DOCUMENT), word_shingles(PARAGRAPH_EDIT)) >= 0.8
    decisions = _decide(original, copy, _original(original))
    (new,) = [text for text, d in zip(copy, decisions) if d is None]
    assert NEW_PARAGRAPH in new
    assert all(d.kind in ("exact", "source") for d in decisions if d)


def test_containment_allows_a_chunk_no_more_new_text_than_jaccard_allows_two_chunks():
    assert round(containment_threshold(0.8), 3) == 0.889
    words = [f"w{i}" for i in range(60)]
    whole = word_shingles(" ".join(words))
    original = OriginalSource(whole, ((1, whole),))
    one_new_word = word_shingles(" ".join(words[:30] + ["edited"] + words[31:]))  # 3 of 58 shingles new
    new_sentence = word_shingles(" ".join(words[:30] + [f"new{i}" for i in range(8)] + words[30:]))  # 10 of 66
    assert contained_duplicate(one_new_word, original, 0.8) is not None
    assert containment(new_sentence, whole) > 0.8 and contained_duplicate(new_sentence, original, 0.8) is None


def test_a_source_duplicate_of_a_chunk_that_is_itself_a_duplicate_points_at_its_original():
    part = "Dataset versioning records the exact bytes of every file used to train a model"
    fps = Fingerprinter(0.8).fingerprints([BASE, OTHER, BASE, part])
    # the original source holds chunks 3 (an exact copy of chunk 1) and 2; chunk 4 lies in chunk 3
    original = OriginalSource(word_shingles(BASE + " " + OTHER), ((3, fps[2].shingles), (2, fps[1].shingles)))
    decisions = find_duplicates([1, 2, 3, 4], fps, {}, {}, {}, 0.8, [None, None, None, original])
    assert decisions[2] == Duplicate("exact", 1, 1.0)
    assert decisions[3] == Duplicate("source", 1, 1.0)
