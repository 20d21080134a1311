from ingest.dedup import Duplicate, Fingerprinter, find_duplicates, jaccard, word_shingles

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
