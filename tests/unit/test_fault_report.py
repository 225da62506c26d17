"""Counting what a fault did: lost, duplicated and out-of-order messages, and the table."""

from tests.support.fault_report import FaultReport, FaultRow, count_faults


def test_nothing_wrong_counts_zero() -> None:
    assert count_faults({"a": ["a1", "a2"], "b": ["b1"]}, ["a1", "b1", "a2"]) == (0, 0, 0)


def test_a_missing_id_is_lost() -> None:
    assert count_faults({"a": ["a1", "a2", "a3"]}, ["a1", "a3"]) == (1, 0, 0)


def test_each_extra_copy_is_a_duplicate() -> None:
    assert count_faults({"a": ["a1", "a2"]}, ["a1", "a1", "a2", "a1"]) == (0, 2, 0)


def test_a_sender_whose_ids_were_stored_out_of_order_counts_once() -> None:
    expected = {"a": ["a1", "a2", "a3"], "b": ["b1", "b2"]}

    assert count_faults(expected, ["a2", "a1", "b1", "a3", "b2"]) == (0, 0, 1)


def test_a_duplicate_does_not_make_a_sender_out_of_order() -> None:
    assert count_faults({"a": ["a1", "a2"]}, ["a1", "a2", "a1"]) == (0, 1, 0)


def test_the_table_has_a_row_per_fault_and_a_dash_for_no_recovery_time() -> None:
    report = FaultReport()
    report.add(FaultRow("kill -9 web", 240, 240, 240, 0, 0, 0, recovery_s=1.25))
    report.add(FaultRow("joins in an outage", 4, 0, 0, 0, 0, 0))

    lines = report.table().splitlines()

    assert lines[0].startswith("| fault | sent | acked")
    assert lines[2] == "| kill -9 web | 240 | 240 | 240 | 0 | 0 | 0 | 1.2 |"
    assert lines[3].endswith("| — |")
