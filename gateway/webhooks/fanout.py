"""From the outbox to deliveries: the worker's first step.

The fan-out reads the outbox in feed order from where it last stopped (the one row of
`webhook_fanout`) and writes one delivery per (event, endpoint that hears it), then moves its
place, all in one transaction: a process killed half-way leaves the place where it was, and the
next fan-out (any process) writes the same deliveries again (`ON CONFLICT DO NOTHING`).

It never reads past the feed's horizon. On PostgreSQL an event's position is its transaction
id and transactions commit out of order, so a later position can be visible while an earlier
one is still to commit: reading only below the oldest running transaction
(`Database.feed_horizon_sql`, as `GET /v1/events` does) means the place never moves past an
event that will commit later. SQLite serialises writers, so there commit order is position order.

Who hears an event is `gateway.events.audience.concerns` (the feed's own rule) plus the
endpoint's type filters; an endpoint hears the events created since it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from gateway.clock import utcnow
from gateway.events.audience import concerns
from gateway.ids import new_id
from gateway.records import json_value
from gateway.storage import db
from gateway.webhooks.filters import matches

BATCH = 1000
CURSOR = "events"


def as_utc(value: Any) -> datetime:
    """A timestamp read through raw SQL: a datetime, or ISO text on SQLite."""
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def audiences(events: Sequence[dict[str, Any]], endpoints: Iterable[dict[str, Any]]) -> list[tuple[str, str]]:
    """(event id, endpoint id) for every endpoint that hears each event, pure."""
    by_tenant: dict[str, list[dict[str, Any]]] = {}
    for endpoint in endpoints:
        by_tenant.setdefault(endpoint["tenant_id"], []).append(endpoint)
    pairs: list[tuple[str, str]] = []
    for event in events:
        for endpoint in by_tenant.get(event["tenant_id"], ()):
            if (
                concerns(endpoint["owner_type"], endpoint["owner_id"], event["supplier_id"], event["channel_id"])
                and matches(endpoint["events"], event["type"])
                and as_utc(event["created_at"]) >= as_utc(endpoint["created_at"])
            ):
                pairs.append((event["id"], endpoint["id"]))
    return pairs


async def fan_out(limit: int = BATCH) -> int:
    """Turn the next `limit` events of the outbox into deliveries; the number of events read
    (0 when there are none, or when another process is fanning out right now)."""
    database = db()
    after = (
        "FROM events WHERE position >= ? AND (position > ? OR id > ?)"
        + (f" AND position < {database.feed_horizon_sql}" if database.feed_horizon_sql else "")
        + " ORDER BY position, id LIMIT ?"
    )
    # a look without the write lock first: most of the time there is nothing new
    place = await database.fetch("SELECT position, event_id FROM webhook_fanout WHERE id = ?", CURSOR)
    if place:
        position, last_id = place[0]["position"], place[0]["event_id"]
        if not await database.fetch(f"SELECT id {after}", position, position, last_id, 1):
            return 0
    async with database.transaction():
        # one fan-out at a time. An advisory lock rather than a row lock: until its last two
        # statements this transaction writes nothing, so it takes no transaction id and does
        # not hold back the feed's horizon (or its own) while it reads
        if not await database.try_transaction_lock("webhooks.fanout"):
            return 0
        place = await database.fetch("SELECT position, event_id FROM webhook_fanout WHERE id = ?", CURSOR)
        position, last_id = place[0]["position"], place[0]["event_id"]
        events = await database.fetch(
            f"SELECT id, tenant_id, type, supplier_id, channel_id, created_at, position {after}",
            position,
            position,
            last_id,
            limit,
        )
        if not events:
            return 0
        tenants = sorted({event["tenant_id"] for event in events})
        endpoints = await database.fetch(
            "SELECT id, tenant_id, owner_type, owner_id, events, created_at FROM webhook_endpoints "
            f"WHERE status = 'enabled' AND tenant_id IN ({', '.join('?' for _ in tenants)})",
            *tenants,
        )
        for endpoint in endpoints:
            endpoint["events"] = json_value(endpoint["events"])
        pairs = audiences(events, endpoints)
        if pairs:
            now = utcnow()
            tenant_of = {event["id"]: event["tenant_id"] for event in events}
            type_of = {event["id"]: event["type"] for event in events}
            await database.execute_many(
                "INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, event_type, status, attempts, "
                "failures, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, 0, ?, ?, ?) "
                "ON CONFLICT (endpoint_id, event_id) DO NOTHING",
                [
                    (new_id("whd"), tenant_of[event_id], endpoint_id, event_id, type_of[event_id], now, now, now)
                    for event_id, endpoint_id in pairs
                ],
            )
        last = events[-1]
        await database.fetch(
            "UPDATE webhook_fanout SET position = ?, event_id = ? WHERE id = ?", last["position"], last["id"], CURSOR
        )
    return len(events)
