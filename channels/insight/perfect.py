"""The perfect order rate, pure (DESIGN §15): what makes one shipment perfect, and counts.

The unit is a fulfilment order (one shipment from one location), counted for the supplier and
location it was routed to, in the cohort of the UTC day it was routed. It is judged once its
outcome is known (delivered, picked up, returned, cancelled, rejected); until then it is open
and left out of the rate. Its parts:

- **accepted in time**: the supplier accepted it before its acceptance deadline;
- **on time**: it reached the consumer (delivered or picked up) by the promised time;
- **complete**: every unit of it reached the consumer from this location (a rejected or
  cancelled shipment did not; shipments are never delivered in part);
- **not cancelled or returned**.

A shipment is perfect when all four hold. A returned shipment was on time and complete but is
not perfect; a rejected one is neither accepted in time nor complete (its replacement is judged
for the location that took it over).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import msgspec

DECIDED = frozenset({"delivered", "picked_up", "returned", "cancelled", "rejected"})
REACHED = frozenset({"delivered", "picked_up", "returned"})
PARTS = ("accepted_in_time", "on_time", "complete", "not_cancelled_or_returned")


class Outcome(msgspec.Struct, frozen=True):
    accepted_in_time: bool
    on_time: bool
    complete: bool
    not_cancelled_or_returned: bool

    @property
    def perfect(self) -> bool:
        return self.accepted_in_time and self.on_time and self.complete and self.not_cancelled_or_returned


def judge(
    status: str,
    accepted_at: datetime | None,
    accept_by: datetime,
    promised_at: datetime,
    finished_at: datetime | None,
) -> Outcome | None:
    """The outcome of one fulfilment order; None while it is still open."""
    if status not in DECIDED:
        return None
    reached = status in REACHED
    return Outcome(
        accepted_in_time=accepted_at is not None and accepted_at <= accept_by,
        on_time=reached and finished_at is not None and finished_at <= promised_at,
        complete=reached,
        not_cancelled_or_returned=status not in ("cancelled", "returned"),
    )


class Tally(msgspec.Struct):
    """Counts over a set of fulfilment orders."""

    decided: int = 0
    open: int = 0
    perfect: int = 0
    accepted_in_time: int = 0
    on_time: int = 0
    complete: int = 0
    not_cancelled_or_returned: int = 0

    def add(self, outcome: Outcome | None) -> None:
        if outcome is None:
            self.open += 1
            return
        self.decided += 1
        self.perfect += outcome.perfect
        self.accepted_in_time += outcome.accepted_in_time
        self.on_time += outcome.on_time
        self.complete += outcome.complete
        self.not_cancelled_or_returned += outcome.not_cancelled_or_returned

    def rate(self, count: int | None = None) -> float | None:
        """`count` (default: perfect) over the decided ones; None before anything is decided."""
        return (self.perfect if count is None else count) / self.decided if self.decided else None


def tally(outcomes: Iterable[Outcome | None]) -> Tally:
    counts = Tally()
    for outcome in outcomes:
        counts.add(outcome)
    return counts
