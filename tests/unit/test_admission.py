"""A process's socket caps: in all and per client address, and when it reports itself full."""

import pytest

from app.chat.admission import Admission
from app.chat.exceptions import ServerFull, TooManySockets


def test_sockets_up_to_the_cap_are_admitted_and_the_next_is_refused() -> None:
    full: list[bool] = []
    admission = Admission(max_sockets=2, max_per_address=0, on_full=full.append)

    admission.admit("10.0.0.1")
    admission.admit("10.0.0.2")
    with pytest.raises(ServerFull):
        admission.admit("10.0.0.3")

    assert admission.sockets == 2
    assert full == [True]


def test_a_released_socket_frees_a_place_and_the_process_is_no_longer_full() -> None:
    full: list[bool] = []
    admission = Admission(max_sockets=1, max_per_address=0, on_full=full.append)
    admission.admit("10.0.0.1")

    admission.release("10.0.0.1")
    admission.admit("10.0.0.2")

    assert full == [True, False, True]


def test_one_address_may_hold_its_cap_and_others_go_on() -> None:
    admission = Admission(max_sockets=0, max_per_address=2)
    admission.admit("10.0.0.1")
    admission.admit("10.0.0.1")

    with pytest.raises(TooManySockets) as refused:
        admission.admit("10.0.0.1")
    admission.admit("10.0.0.2")
    admission.release("10.0.0.1")
    admission.admit("10.0.0.1")

    assert "2 sockets" in refused.value.detail
    assert admission.sockets == 3


def test_zero_means_no_cap_and_an_unknown_address_counts_only_in_all() -> None:
    admission = Admission(max_sockets=0, max_per_address=0)

    for _ in range(5000):
        admission.admit(None)

    assert admission.sockets == 5000
