"""The token bucket on the real database, with time moved by hand (``Clock``) or the database's own."""

from datetime import UTC, datetime, timedelta

import pytest

from service.keys import Role, create_key
from service.ratelimit import RateLimiter


class Clock:
    def __init__(self):
        self.now = datetime(2024, 1, 1, tzinfo=UTC)

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def connect(conn):
    """The test's one connection as a ``connect`` that commits each statement."""

    class _Connect:
        def __enter__(self):
            return conn

        def __exit__(self, *exc):
            conn.commit()

    return _Connect


@pytest.fixture
def key_ids(conn):
    return [create_key(conn, Role.user)[0].id for _ in range(2)]


def test_allows_the_limit_then_says_how_long_to_wait(connect, key_ids):
    clock = Clock()
    limiter = RateLimiter(connect, 3, clock)
    assert [limiter.acquire(key_ids[0]) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire(key_ids[0]) == pytest.approx(20.0)  # one token every 60/3 s
    clock.advance(20)
    assert limiter.acquire(key_ids[0]) == 0.0


def test_a_refused_request_takes_no_token(connect, key_ids):
    clock = Clock()
    limiter = RateLimiter(connect, 1, clock)
    assert limiter.acquire(key_ids[0]) == 0.0
    clock.advance(30)
    assert [limiter.acquire(key_ids[0]) for _ in range(3)] == [pytest.approx(30.0)] * 3
    clock.advance(30)
    assert limiter.acquire(key_ids[0]) == 0.0


def test_keys_have_separate_buckets(connect, key_ids):
    limiter = RateLimiter(connect, 1, Clock())
    assert limiter.acquire(key_ids[0]) == 0.0
    assert limiter.acquire(key_ids[0]) > 0
    assert limiter.acquire(key_ids[1]) == 0.0


def test_bucket_never_holds_more_than_the_limit(connect, key_ids):
    clock = Clock()
    limiter = RateLimiter(connect, 2, clock)
    assert limiter.acquire(key_ids[0]) == 0.0
    clock.advance(3600)
    assert [limiter.acquire(key_ids[0]) == 0.0 for _ in range(3)] == [True, True, False]


def test_two_limiters_over_one_database_share_the_limit(connect, key_ids):
    """As two processes would: each its own limiter, one bucket row."""
    first, second = RateLimiter(connect, 2), RateLimiter(connect, 2)  # the database's clock
    assert first.acquire(key_ids[0]) == 0.0
    assert second.acquire(key_ids[0]) == 0.0
    assert 0 < first.acquire(key_ids[0]) <= 30.0
    assert 0 < second.acquire(key_ids[0]) <= 30.0
