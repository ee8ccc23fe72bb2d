"""Ledger arithmetic (DESIGN §5): pure functions, no I/O.

A level holds `on_hand`, `reserved` (live quotes), `committed` (orders not yet shipped) and
`safety_stock`; `available = on_hand − reserved − committed − safety_stock`, shown as at
least 0. Every change is described by a `Delta` that becomes a movement row, so that the
sum of a level's movements is the level (`gateway inventory check`).
"""

from __future__ import annotations

from typing import Literal

import msgspec

Reason = Literal[
    "received",
    "sync",
    "correction",
    "damaged",
    "reserved",
    "reservation_released",
    "committed",
    "shipped",
    "cancelled",
    "returned",
    "transfer_out",
    "transfer_in",
]
#: reasons a supplier may give to an adjust; the others belong to orders and transfers
ADJUST_REASONS: tuple[Reason, ...] = ("received", "correction", "damaged", "returned")


class Level(msgspec.Struct, kw_only=True):
    on_hand: int = 0
    reserved: int = 0
    committed: int = 0
    safety_stock: int = 0
    #: the highest supplier `sequence` applied by a `set`, None before the first
    last_sequence: int | None = None

    @property
    def available(self) -> int:
        return max(self.on_hand - self.reserved - self.committed - self.safety_stock, 0)

    @property
    def shortage(self) -> bool:
        """Counted stock below what is promised: the affected fulfilment must move."""
        return self.on_hand < self.reserved + self.committed


class Delta(msgspec.Struct, frozen=True, kw_only=True):
    on_hand: int = 0
    reserved: int = 0
    committed: int = 0
    reason: Reason

    @property
    def is_zero(self) -> bool:
        """Changes nothing (a count equal to the level, an adjust by 0): no movement to record."""
        return self.on_hand == 0 and self.reserved == 0 and self.committed == 0

    def apply(self, level: Level) -> Level:
        return msgspec.structs.replace(
            level,
            on_hand=level.on_hand + self.on_hand,
            reserved=level.reserved + self.reserved,
            committed=level.committed + self.committed,
        )


class Refused(msgspec.Struct, frozen=True):
    code: str
    message: str


class AlreadyApplied(msgspec.Struct, frozen=True):
    """The very same count delivered again (a retry): nothing to do, and not an error."""


def plan_set(level: Level, on_hand: int, sequence: int) -> Delta | Refused | AlreadyApplied:
    """An absolute count. A sequence not above the last applied one is stale and refused,
    unless it is the last applied count itself, delivered again.

    A count below what is reserved and committed is still the truth and is applied; the
    caller raises `inventory.shortage` for it (`Level.shortage`).
    """
    if on_hand < 0:
        return Refused("invalid_quantity", "on_hand cannot be negative")
    if sequence == level.last_sequence and on_hand == level.on_hand:
        return AlreadyApplied()
    if level.last_sequence is not None and sequence <= level.last_sequence:
        return Refused(
            "stale_sequence", f"sequence {sequence} is not after the last applied sequence {level.last_sequence}"
        )
    return Delta(on_hand=on_hand - level.on_hand, reason="sync")


def plan_adjust(level: Level, delta: int, reason: Reason) -> Delta | Refused:
    """A relative change. Taking `on_hand` below zero is refused."""
    if level.on_hand + delta < 0:
        return Refused("insufficient_stock", f"on_hand {level.on_hand} cannot go down by {-delta}")
    return Delta(on_hand=delta, reason=reason)


def plan_reserve(level: Level, qty: int) -> Delta | Refused:
    if qty <= 0:
        return Refused("invalid_quantity", "qty must be positive")
    if level.available < qty:
        return Refused("insufficient_stock", f"{level.available} available, {qty} asked")
    return Delta(reserved=qty, reason="reserved")


def plan_reserve_unchecked(qty: int) -> Delta:
    """The delta of a reservation whose availability the storage layer checks atomically."""
    return Delta(reserved=qty, reason="reserved")


def plan_release(qty: int) -> Delta:
    return Delta(reserved=-qty, reason="reservation_released")


def plan_commit_reserved(qty: int) -> Delta:
    """A quote becomes an order: its reservation becomes a commitment."""
    return Delta(reserved=-qty, committed=qty, reason="committed")


def plan_ship(qty: int) -> Delta:
    return Delta(committed=-qty, on_hand=-qty, reason="shipped")


def plan_cancel(qty: int) -> Delta:
    return Delta(committed=-qty, reason="cancelled")


def plan_return(qty: int) -> Delta:
    return Delta(on_hand=qty, reason="returned")
