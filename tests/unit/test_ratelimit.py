"""The per-connection token bucket, on an injected clock."""

import pytest

from app.chat.ratelimit import TokenBucket


class Clock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_full_bucket_allows_its_burst_at_once(clock: Clock) -> None:
    bucket = TokenBucket(rate=2.0, burst=5, clock=clock)

    assert [bucket.take() for _ in range(5)] == [0.0] * 5
    assert bucket.take() > 0


def test_retry_after_is_the_time_until_the_next_token(clock: Clock) -> None:
    bucket = TokenBucket(rate=4.0, burst=1, clock=clock)
    bucket.take()

    assert bucket.take() == pytest.approx(0.25)
    clock.now += 0.1
    assert bucket.take() == pytest.approx(0.15)


def test_a_refused_frame_costs_nothing(clock: Clock) -> None:
    bucket = TokenBucket(rate=1.0, burst=1, clock=clock)
    bucket.take()
    for _ in range(10):
        assert bucket.take() == pytest.approx(1.0)

    clock.now += 1.0
    assert bucket.take() == 0.0


def test_tokens_refill_at_the_rate(clock: Clock) -> None:
    bucket = TokenBucket(rate=10.0, burst=3, clock=clock)
    for _ in range(3):
        bucket.take()

    clock.now += 0.2  # two tokens
    assert [bucket.take() for _ in range(2)] == [0.0, 0.0]
    assert bucket.take() == pytest.approx(0.1)


def test_waiting_retry_after_is_enough(clock: Clock) -> None:
    bucket = TokenBucket(rate=3.0, burst=2, clock=clock)
    bucket.take()
    bucket.take()

    clock.now += bucket.take()
    assert bucket.take() == 0.0


def test_refill_stops_at_the_burst(clock: Clock) -> None:
    bucket = TokenBucket(rate=100.0, burst=4, clock=clock)

    clock.now += 3600
    assert [bucket.take() for _ in range(4)] == [0.0] * 4
    assert bucket.take() == pytest.approx(0.01)


def test_a_steady_sender_at_the_rate_is_never_refused(clock: Clock) -> None:
    bucket = TokenBucket(rate=5.0, burst=1, clock=clock)

    for _ in range(100):
        assert bucket.take() == 0.0
        clock.now += 0.2
