"""``BatchingQueryEmbedder``: concurrent queries share forwards and each caller gets its own
vector; repeated queries come from the cache (unless disabled); a failed forward reaches every
waiter of its batch and the next batch still runs."""

import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from retrieval.query_embedder import BatchingQueryEmbedder

DIM = 8


class RecordingEmbedder:
    """A vector per text (seeded by its crc32); records each forward's texts and sleeps ``delay``
    seconds a forward. ``gate``, when given, holds the first forward until it is set; ``fail``
    makes a forward raise when it returns true for the forward's texts."""

    dimension = DIM

    def __init__(self, delay: float = 0.02, gate: threading.Event | None = None, fail=lambda texts: False):
        self.delay, self.gate, self.fail = delay, gate, fail
        self.forwards: list[list[str]] = []
        self.entered = threading.Event()
        self._inside = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        assert self._inside.acquire(blocking=False), "two forwards at once"
        try:
            self.forwards.append(list(texts))
            self.entered.set()
            if self.gate is not None and len(self.forwards) == 1:
                assert self.gate.wait(5)
            time.sleep(self.delay)
            if self.fail(texts):
                raise RuntimeError("forward failed")
            return np.array([self.vector(t) for t in texts], dtype=np.float32)
        finally:
            self._inside.release()

    @staticmethod
    def vector(text: str) -> np.ndarray:
        return np.random.default_rng(zlib.crc32(text.encode())).standard_normal(DIM).astype(np.float32)


def _at_once(function, args: list) -> list:
    """``function`` over ``args`` from one thread each, all released together."""
    barrier = threading.Barrier(len(args))

    def call(arg):
        barrier.wait()
        return function(arg)

    with ThreadPoolExecutor(len(args)) as pool:
        return list(pool.map(call, args))


def _wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_concurrent_queries_share_forwards_and_each_gets_its_own_vector():
    embedder = RecordingEmbedder(delay=0.05)
    batching = BatchingQueryEmbedder(embedder, cache_size=0)
    queries = [f"query number {i}" for i in range(8)]
    vectors = _at_once(batching.embed_one, queries)
    assert len(embedder.forwards) < len(queries)
    assert sorted(t for forward in embedder.forwards for t in forward) == sorted(queries)
    for query, vector in zip(queries, vectors):
        np.testing.assert_array_equal(vector, RecordingEmbedder.vector(query))


def test_a_caller_alone_embeds_at_once_in_its_own_forward():
    embedder = RecordingEmbedder(delay=0)
    batching = BatchingQueryEmbedder(embedder)
    np.testing.assert_array_equal(batching.embed_one("alone"), RecordingEmbedder.vector("alone"))
    assert embedder.forwards == [["alone"]]


def _first_then_seven_waiting(pool, batching, embedder, gate):
    """ "first" in a forward held at ``gate``, then seven queries waiting behind it; the gate opens."""
    first = pool.submit(batching.embed_one, "first")
    assert embedder.entered.wait(5)
    rest = [pool.submit(batching.embed_one, f"q{i}") for i in range(7)]
    _wait_for(lambda: len(batching._pending) == 7)
    gate.set()
    return first, rest


def test_no_forward_is_larger_than_max_batch():
    gate = threading.Event()
    embedder = RecordingEmbedder(delay=0, gate=gate)
    batching = BatchingQueryEmbedder(embedder, max_batch=3, cache_size=0)
    with ThreadPoolExecutor(8) as pool:
        first, rest = _first_then_seven_waiting(pool, batching, embedder, gate)
        results = [first.result(5), *(f.result(5) for f in rest)]
    assert [len(f) for f in embedder.forwards] == [1, 3, 3, 1]
    for query, vector in zip(["first", *(f"q{i}" for i in range(7))], results):
        np.testing.assert_array_equal(vector, RecordingEmbedder.vector(query))


def test_a_repeated_query_comes_from_the_cache():
    embedder = RecordingEmbedder(delay=0)
    batching = BatchingQueryEmbedder(embedder, cache_size=4)
    first = batching.embed_one("shock  boundary layer")
    again = batching.embed_one(" shock boundary\tlayer ")  # the same after normalising whitespace
    np.testing.assert_array_equal(first, again)
    assert embedder.forwards == [["shock boundary layer"]]
    assert batching.cache_info() == {"hits": 1, "misses": 1, "forwards": 1, "size": 1, "max_size": 4}
    again[:] = 0  # a caller's copy: the cached vector is untouched
    np.testing.assert_array_equal(batching.embed_one("shock boundary layer"), first)


def test_the_cache_keeps_the_most_recent_queries():
    embedder = RecordingEmbedder(delay=0)
    batching = BatchingQueryEmbedder(embedder, cache_size=2)
    for query in ["a", "b", "a", "c", "a", "b"]:  # "b" is evicted by "c" (least recently used)
        batching.embed_one(query)
    assert embedder.forwards == [["a"], ["b"], ["c"], ["b"]]
    batching.cache_clear()
    assert batching.cache_info() == {"hits": 0, "misses": 0, "forwards": 0, "size": 0, "max_size": 2}


def test_cache_size_zero_disables_the_cache():
    embedder = RecordingEmbedder(delay=0)
    batching = BatchingQueryEmbedder(embedder, cache_size=0)
    batching.embed_one("same")
    batching.embed_one("same")
    assert embedder.forwards == [["same"], ["same"]]
    assert batching.cache_info()["size"] == 0


def test_a_failed_forward_reaches_every_waiter_of_its_batch_and_the_next_batch_runs():
    gate = threading.Event()
    embedder = RecordingEmbedder(delay=0, gate=gate, fail=lambda texts: len(texts) > 1)
    batching = BatchingQueryEmbedder(embedder)
    with ThreadPoolExecutor(8) as pool:
        first, rest = _first_then_seven_waiting(pool, batching, embedder, gate)
        np.testing.assert_array_equal(first.result(5), RecordingEmbedder.vector("first"))
        for future in rest:
            with pytest.raises(RuntimeError, match="forward failed"):
                future.result(5)
    np.testing.assert_array_equal(batching.embed_one("q0"), RecordingEmbedder.vector("q0"))
    assert batching.cache_info()["size"] == 2  # "first" and "q0": nothing cached from the failed batch


def test_several_texts_go_straight_to_the_embedder_and_attributes_are_its_own():
    embedder = RecordingEmbedder(delay=0)
    batching = BatchingQueryEmbedder(embedder)
    rows = batching.embed(["question", "window one", "window two"])
    assert rows.shape == (3, DIM)
    assert embedder.forwards == [["question", "window one", "window two"]]
    assert batching.cache_info()["size"] == 0
    assert batching.embed(["one query"]).shape == (1, DIM)
    assert batching.dimension == DIM
