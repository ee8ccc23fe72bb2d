"""The fulfilment state machine and the order status derived from it (DESIGN §7). Pure.

pending → accepted → picking → shipped → delivered              (delivery)
                           ↘ ready_for_pickup → picked_up      (pickup)
side exits: pending|accepted → rejected (the share is re-routed),
            pending|accepted|picking → cancelled,
            delivered|picked_up → returned
"""

from __future__ import annotations

from collections.abc import Iterable

#: action -> (states it may start from, state it leads to, the mode it needs or None)
TRANSITIONS: dict[str, tuple[frozenset[str], str, str | None]] = {
    "accept": (frozenset({"pending"}), "accepted", None),
    "pick": (frozenset({"accepted"}), "picking", None),
    "ship": (frozenset({"accepted", "picking"}), "shipped", "delivery"),
    "ready_for_pickup": (frozenset({"accepted", "picking"}), "ready_for_pickup", "pickup"),
    "deliver": (frozenset({"shipped"}), "delivered", "delivery"),
    "pick_up": (frozenset({"ready_for_pickup"}), "picked_up", "pickup"),
    "reject": (frozenset({"pending", "accepted"}), "rejected", None),
    "cancel": (frozenset({"pending", "accepted", "picking"}), "cancelled", None),
    "return": (frozenset({"delivered", "picked_up"}), "returned", None),
}
#: what each arrival means for the ledger: the units leave stock, are freed, or come back
LEDGER: dict[str, str] = {
    "shipped": "ship",
    "ready_for_pickup": "ship",
    "rejected": "cancel",
    "cancelled": "cancel",
    "returned": "restock",
}
#: what each arrival means for the money journal (issue 14): the share's money is given back.
#: A rejection's reversal is booked by the re-route, which knows whether another location took over.
REVERSALS: dict[str, str] = {"cancelled": "cancellation", "returned": "return"}
FINISHED = frozenset({"delivered", "picked_up"})
#: the goods left the location
GONE = frozenset({"shipped", "ready_for_pickup", "delivered", "picked_up", "returned"})
ACCEPTED_OR_LATER = frozenset({"accepted", "picking"}) | GONE


class InvalidTransition(Exception):
    def __init__(self, action: str, status: str, mode: str) -> None:
        allowed, _, needs = TRANSITIONS[action]
        if needs is not None and needs != mode:
            message = f"`{action}` is for {needs} fulfilment orders; this one is {mode}"
        else:
            message = f"cannot {action.replace('_', ' ')} a fulfilment order that is {status} (only from {', '.join(sorted(allowed))})"
        super().__init__(message)


def next_status(action: str, status: str, mode: str) -> str:
    allowed, target, needs = TRANSITIONS[action]
    if status not in allowed or (needs is not None and needs != mode):
        raise InvalidTransition(action, status, mode)
    return target


def order_status(shares: Iterable[tuple[str, str | None]]) -> str:
    """An order's status from its fulfilment orders' (status, replaced_by).

    A rejected share that was re-routed is history; one that found no new home makes the
    order `failed` unless other shares still go on (then they decide, and the event feed and
    the fulfilment order say what is missing).
    """
    live: list[str] = []
    stranded = False
    for status, replaced_by in shares:
        if status == "rejected":
            stranded = stranded or replaced_by is None
        else:
            live.append(status)
    active = [s for s in live if s != "cancelled"]
    if not active:
        return "failed" if stranded else "cancelled"
    if all(s == "returned" for s in active):
        return "returned"
    if all(s in FINISHED or s == "returned" for s in active):
        return "completed"
    if all(s in GONE for s in active):
        return "shipped"
    if all(s in ACCEPTED_OR_LATER for s in active):
        return "accepted"
    return "pending"
