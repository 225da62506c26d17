"""The sequencer releases a room's messages strictly in order, each once."""

import random

import pytest

from app.chat.sequencer import Sequencer


def test_items_in_order_are_released_at_once() -> None:
    sequencer: Sequencer[str] = Sequencer(next_seq=1)

    assert sequencer.push(1, "a") == ["a"]
    assert sequencer.push(2, "b") == ["b"]
    assert sequencer.next_seq == 3
    assert sequencer.missing() is None


def test_an_item_past_a_gap_is_held_until_the_gap_fills() -> None:
    sequencer: Sequencer[str] = Sequencer(next_seq=1)

    assert sequencer.push(3, "c") == []
    assert sequencer.push(2, "b") == []
    assert sequencer.push(1, "a") == ["a", "b", "c"]
    assert sequencer.next_seq == 4


def test_a_repeat_of_a_held_item_is_ignored() -> None:
    sequencer: Sequencer[str] = Sequencer(next_seq=1)
    sequencer.push(2, "first")

    assert sequencer.push(2, "again") == []
    assert sequencer.push(1, "a") == ["a", "first"]


@pytest.mark.parametrize("seq", [1, 4, 5])
def test_items_below_next_are_ignored(seq: int) -> None:
    sequencer: Sequencer[str] = Sequencer(next_seq=6)

    assert sequencer.push(seq, "old") == []
    assert sequencer.next_seq == 6
    assert sequencer.missing() is None


def test_an_item_released_once_is_never_released_again() -> None:
    sequencer: Sequencer[str] = Sequencer(next_seq=1)
    sequencer.push(1, "a")

    assert sequencer.push(1, "a") == []
    assert sequencer.push(2, "b") == ["b"]


def test_a_sequencer_can_start_past_one() -> None:
    sequencer: Sequencer[str] = Sequencer(next_seq=42)

    assert sequencer.push(43, "b") == []
    assert sequencer.push(42, "a") == ["a", "b"]


def test_missing_names_the_first_gap() -> None:
    sequencer: Sequencer[str] = Sequencer(next_seq=1)
    sequencer.push(4, "d")
    sequencer.push(9, "i")

    assert sequencer.missing() == (1, 3)
    sequencer.push(1, "a")
    assert sequencer.missing() == (2, 3)
    sequencer.push(2, "b")
    sequencer.push(3, "c")
    assert sequencer.missing() == (5, 8)


def test_skip_to_gives_up_the_gap_and_releases_what_follows() -> None:
    sequencer: Sequencer[str] = Sequencer(next_seq=1)
    sequencer.push(4, "d")
    sequencer.push(5, "e")
    sequencer.push(7, "g")

    assert sequencer.skip_to(4) == ["d", "e"]
    assert sequencer.next_seq == 6
    assert sequencer.missing() == (6, 6)


def test_skip_to_past_held_items_drops_them() -> None:
    sequencer: Sequencer[str] = Sequencer(next_seq=1)
    sequencer.push(3, "c")
    sequencer.push(8, "h")

    assert sequencer.skip_to(6) == []
    assert sequencer.next_seq == 6
    assert sequencer.missing() == (6, 7)
    assert sequencer.push(3, "c") == []


def test_skip_to_never_goes_back() -> None:
    sequencer: Sequencer[str] = Sequencer(next_seq=10)

    assert sequencer.skip_to(3) == []
    assert sequencer.next_seq == 10


@pytest.mark.parametrize("seed", range(25))
def test_any_arrival_order_with_repeats_comes_out_sequential_and_once(seed: int) -> None:
    rng = random.Random(seed)
    start = rng.randint(1, 1000)
    count = rng.randint(1, 200)
    arrivals = list(range(start, start + count))
    arrivals += rng.choices(arrivals, k=rng.randint(0, count))  # repeats
    arrivals += [rng.randint(0, start - 1) for _ in range(rng.randint(0, 20))]  # already seen
    rng.shuffle(arrivals)
    sequencer: Sequencer[int] = Sequencer(next_seq=start)

    released: list[int] = []
    for seq in arrivals:
        out = sequencer.push(seq, seq)
        assert out == list(range(sequencer.next_seq - len(out), sequencer.next_seq))
        released += out

    assert released == list(range(start, start + count))
    assert sequencer.missing() is None


@pytest.mark.parametrize("seed", range(10))
def test_skipping_lost_numbers_still_releases_in_order_and_once(seed: int) -> None:
    rng = random.Random(1000 + seed)
    numbers = list(range(1, 151))
    lost = set(rng.sample(numbers, 15))
    arrivals = [n for n in numbers if n not in lost] * 2
    rng.shuffle(arrivals)
    sequencer: Sequencer[int] = Sequencer(next_seq=1)

    released: list[int] = []
    for seq in arrivals:
        released += sequencer.push(seq, seq)
    while (gap := sequencer.missing()) is not None:
        released += sequencer.skip_to(gap[1] + 1)

    assert released == sorted(set(numbers) - lost)
