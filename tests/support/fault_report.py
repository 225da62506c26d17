"""The fault suite's table: what each injected fault did to the messages, counted.

Each fault test adds one row with ``FaultReport.add``; the row is printed as
soon as the test has counted it, and the whole table at the end of the run
(``make faults`` shows it; the README quotes it).
"""

from collections import Counter
from dataclasses import asdict, dataclass

COLUMNS = (
    "fault",
    "sent",
    "acked",
    "stored",
    "lost",
    "duplicated",
    "out_of_order",
    "recovery_s",
)


@dataclass(frozen=True)
class FaultRow:
    """One fault's figures: messages sent, acknowledged, stored, and what went wrong."""

    fault: str
    sent: int
    acked: int
    stored: int
    lost: int
    duplicated: int
    out_of_order: int
    recovery_s: float | None = None

    def cells(self) -> list[str]:
        """The row's cells, in COLUMNS order."""
        values = asdict(self)
        recovery = values["recovery_s"]
        values["recovery_s"] = "—" if recovery is None else f"{recovery:.1f}"
        return [str(values[name]) for name in COLUMNS]


def count_faults(expected: dict[str, list[str]], stored: list[str]) -> tuple[int, int, int]:
    """``(lost, duplicated, out_of_order)`` of the stored ids against each sender's sent ids.

    ``expected`` maps a sender to its ids in the order sent; ``stored`` is the
    room's ids in sequence order. A sender is out of order when its stored ids,
    duplicates aside, are not in the order it sent them.
    """
    copies = Counter(stored)
    lost = sum(1 for ids in expected.values() for cid in ids if copies[cid] == 0)
    duplicated = sum(n - 1 for cid, n in copies.items() if n > 1)
    out_of_order = 0
    for ids in expected.values():
        mine = set(ids)
        seen = list(dict.fromkeys(cid for cid in stored if cid in mine))
        out_of_order += seen != [cid for cid in ids if cid in seen]
    return lost, duplicated, out_of_order


class FaultReport:
    """The rows of one test run."""

    def __init__(self) -> None:
        self.rows: list[FaultRow] = []

    def count(
        self,
        fault: str,
        *,
        sent: dict[str, list[str]],
        stored: list[str],
        acked: int,
        recovery_s: float | None,
    ) -> FaultRow:
        """Count ``stored`` against each sender's ``sent`` ids and add the row."""
        lost, duplicated, out_of_order = count_faults(sent, stored)
        total = sum(map(len, sent.values()))
        return self.add(
            FaultRow(fault, total, acked, len(stored), lost, duplicated, out_of_order, recovery_s)
        )

    def add(self, row: FaultRow) -> FaultRow:
        """Record ``row`` and print it at once."""
        self.rows.append(row)
        print(f"\n[fault] {' | '.join(row.cells())}")
        return row

    def table(self) -> str:
        """The rows as a markdown table."""
        lines = ["| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
        lines += ["| " + " | ".join(row.cells()) + " |" for row in self.rows]
        return "\n".join(lines)
