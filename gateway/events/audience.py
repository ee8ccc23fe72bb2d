"""Whom an event concerns: the one decision behind both the feed (`GET /v1/events`) and the
webhook fan-out. The operator hears everything in its tenant; a supplier the events that name
it (`events.supplier_id`, written by the domain with the event), a channel likewise
(`events.channel_id`). The domain decides the parties when it emits; nothing here knows them."""

from __future__ import annotations

from typing import Any


def concerns(owner_type: str, owner_id: str | None, supplier_id: str | None, channel_id: str | None) -> bool:
    """Whether an event with these parties concerns the owner `(owner_type, owner_id)`."""
    if owner_type == "operator":
        return True
    if owner_type == "supplier":
        return owner_id is not None and supplier_id == owner_id
    if owner_type == "channel":
        return owner_id is not None and channel_id == owner_id
    return False


def sql_filter(owner_type: str, owner_id: str | None) -> tuple[str, list[Any]]:
    """`concerns` as a condition on the `events` table (to append after its tenant filter)."""
    if owner_type == "operator":
        return "", []
    if owner_type == "supplier":
        return " AND supplier_id = ?", [owner_id]
    if owner_type == "channel":
        return " AND channel_id = ?", [owner_id]
    return " AND 1 = 0", []
