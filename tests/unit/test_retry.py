"""Backoff and retry: the one policy every Parley loop rides out outages with."""

import asyncio
import itertools
from collections.abc import Callable

import pytest

from app.chat.retry import Backoff, retry

SAFETY_TIMEOUT = 10.0  # only bounds a hang; nothing is asserted about time
TINY = Backoff(first=0.001, maximum=0.004)  # real sleeps, too short to slow a run


class Flaky:
    """An awaitable call that raises ``errors`` in turn, then returns ``result``."""

    def __init__(self, *errors: BaseException, result: str = "done") -> None:
        self.errors = list(errors)
        self.result = result
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.result


class Refused(ConnectionError):
    """A failure of a retried kind that retrying cannot help (as DataError is a DatabaseError)."""


def heard() -> tuple[list[tuple[BaseException, float]], Callable[[BaseException, float], None]]:
    """A list and an ``on_retry`` that appends each ``(error, delay)`` it is told of to it."""
    calls: list[tuple[BaseException, float]] = []
    return calls, lambda error, delay: calls.append((error, delay))


# ------------------------------------------------------------------ Backoff
def test_delays_grow_by_the_factor_up_to_the_maximum() -> None:
    backoff = Backoff(first=1.0, maximum=10.0, factor=3.0, retries=5)

    assert list(backoff.delays()) == [1.0, 3.0, 9.0, 10.0, 10.0]


def test_delays_double_by_default() -> None:
    backoff = Backoff(first=0.5, maximum=100.0, retries=4)

    assert list(backoff.delays()) == [0.5, 1.0, 2.0, 4.0]


def test_there_are_as_many_delays_as_retries() -> None:
    assert len(list(Backoff(first=1.0, maximum=1.0, retries=7).delays())) == 7
    assert list(Backoff(first=1.0, maximum=1.0, retries=0).delays()) == []


def test_delays_never_end_without_a_retry_limit() -> None:
    delays = Backoff(first=0.1, maximum=2.0).delays()

    first_thousand = list(itertools.islice(delays, 1000))

    assert len(first_thousand) == 1000
    assert first_thousand[:3] == [0.1, 0.2, 0.4]
    assert first_thousand[-1] == 2.0
    assert max(first_thousand) == 2.0
    assert next(delays) == 2.0


def test_each_call_to_delays_starts_over() -> None:
    backoff = Backoff(first=1.0, maximum=8.0, retries=3)
    used = backoff.delays()
    next(used)
    next(used)

    assert list(backoff.delays()) == [1.0, 2.0, 4.0]


# ------------------------------------------------------------------ retry
async def test_a_first_success_is_returned_without_retrying() -> None:
    call = Flaky(result="stored")
    retries, on_retry = heard()

    assert await retry(call, backoff=TINY, on_retry=on_retry) == "stored"
    assert call.calls == 1
    assert retries == []


async def test_failures_are_retried_until_the_first_success() -> None:
    call = Flaky(ConnectionError("down"), ConnectionError("still down"), result="stored")

    assert await retry(call, backoff=TINY) == "stored"
    assert call.calls == 3


async def test_on_retry_hears_each_error_with_the_delay_before_the_next_try() -> None:
    errors = [ConnectionError("one"), ConnectionError("two"), ConnectionError("three")]
    call = Flaky(*errors)
    retries, on_retry = heard()

    await retry(call, backoff=TINY, on_retry=on_retry)

    assert retries == [(errors[0], 0.001), (errors[1], 0.002), (errors[2], 0.004)]


async def test_retry_sleeps_each_delay_between_tries(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def recording_sleep(delay: float, *args, **kwargs):
        slept.append(delay)
        return await real_sleep(delay, *args, **kwargs)

    monkeypatch.setattr("app.chat.retry.asyncio.sleep", recording_sleep)
    call = Flaky(ConnectionError(), ConnectionError())

    await retry(call, backoff=Backoff(first=0.001, maximum=0.0015))

    assert slept == [0.001, 0.0015]


async def test_errors_outside_retry_on_propagate_at_once() -> None:
    call = Flaky(ValueError("a bug, not an outage"))
    retries, on_retry = heard()

    with pytest.raises(ValueError, match="a bug"):
        await retry(call, backoff=TINY, retry_on=ConnectionError, on_retry=on_retry)
    assert call.calls == 1
    assert retries == []


async def test_retry_on_takes_a_tuple_of_error_types() -> None:
    call = Flaky(ConnectionError(), TimeoutError(), result="stored")

    assert await retry(call, backoff=TINY, retry_on=(ConnectionError, TimeoutError)) == "stored"
    assert call.calls == 3


async def test_give_up_on_propagates_at_once_even_when_retry_on_matches() -> None:
    call = Flaky(Refused("the data itself is refused"))
    retries, on_retry = heard()

    with pytest.raises(Refused):
        await retry(
            call,
            backoff=TINY,
            retry_on=ConnectionError,
            give_up_on=(Refused,),
            on_retry=on_retry,
        )
    assert call.calls == 1
    assert retries == []


async def test_give_up_on_still_retries_other_errors_first() -> None:
    call = Flaky(ConnectionError("blip"), Refused("refused"))

    with pytest.raises(Refused):
        await retry(call, backoff=TINY, retry_on=ConnectionError, give_up_on=(Refused,))
    assert call.calls == 2


async def test_the_last_error_propagates_once_the_delays_run_out() -> None:
    errors = [ConnectionError("one"), ConnectionError("two"), ConnectionError("three")]
    call = Flaky(*errors, ConnectionError("never reached"))
    retries, on_retry = heard()

    with pytest.raises(ConnectionError) as caught:
        await retry(call, backoff=Backoff(first=0.001, maximum=0.001, retries=2), on_retry=on_retry)

    assert caught.value is errors[2]
    assert call.calls == 3
    assert [error for error, _ in retries] == errors[:2]


async def test_no_retries_means_one_try() -> None:
    error = ConnectionError("down")
    call = Flaky(error)

    with pytest.raises(ConnectionError) as caught:
        await retry(call, backoff=Backoff(first=0.001, maximum=0.001, retries=0))
    assert caught.value is error
    assert call.calls == 1


async def test_without_a_retry_limit_it_keeps_trying() -> None:
    call = Flaky(*(ConnectionError(f"down {n}") for n in range(50)), result="up again")

    result = await retry(call, backoff=Backoff(first=0.0001, maximum=0.0001))

    assert result == "up again"
    assert call.calls == 51


async def test_cancellation_is_never_retried() -> None:
    call = Flaky(asyncio.CancelledError())

    with pytest.raises(asyncio.CancelledError):
        await retry(call, backoff=TINY)
    assert call.calls == 1


async def test_cancelling_during_a_delay_stops_retrying() -> None:
    call = Flaky(*(ConnectionError() for _ in range(5)))
    waiting = asyncio.Event()
    task = asyncio.create_task(
        retry(
            call,
            backoff=Backoff(first=3600.0, maximum=3600.0),
            on_retry=lambda error, delay: waiting.set(),
        )
    )
    await asyncio.wait_for(waiting.wait(), SAFETY_TIMEOUT)

    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, SAFETY_TIMEOUT)
    assert call.calls == 1
