from service.ratelimit import RateLimiter


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_allows_the_limit_then_says_how_long_to_wait():
    clock = Clock()
    limiter = RateLimiter(3, clock)
    assert [limiter.acquire(1) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire(1) == 20.0  # one token every 60/3 s
    clock.now += 20
    assert limiter.acquire(1) == 0.0


def test_keys_have_separate_buckets():
    limiter = RateLimiter(1, Clock())
    assert limiter.acquire(1) == 0.0
    assert limiter.acquire(1) > 0
    assert limiter.acquire(2) == 0.0


def test_bucket_never_holds_more_than_the_limit():
    clock = Clock()
    limiter = RateLimiter(2, clock)
    clock.now += 3600
    assert [limiter.acquire(1) == 0.0 for _ in range(3)] == [True, True, False]
