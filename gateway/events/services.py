"""Writing to the outbox and reading the feed.

`emit` must be called inside the transaction of the change it records: the event and the
change commit together or not at all (DESIGN §8).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from gateway.clock import utcnow
from gateway.events import audience
from gateway.events.schemas import EventOut
from gateway.ids import new_id
from gateway.storage import db
from gateway.tenancy.principal import Principal

_json = msgspec.json.Encoder()


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def to_event(row: dict[str, Any]) -> EventOut:
    """An `events` row as the feed shows it (and as webhooks deliver it)."""
    data = row["data"]
    return EventOut(
        id=row["id"],
        type=row["type"],
        created_at=_as_datetime(row["created_at"]),
        data=msgspec.json.decode(data) if isinstance(data, (str, bytes)) else data,
    )


async def emit(
    tenant_id: str,
    type: str,
    data: Any,
    *,
    supplier_id: str | None = None,
    channel_id: str | None = None,
) -> str:
    database = db()
    event_id = new_id("evt")
    # queued with the change's other writes (Database.write): one round trip on PostgreSQL
    await database.write(
        "INSERT INTO events (id, tenant_id, position, type, supplier_id, channel_id, data, created_at) "
        f"VALUES (?, ?, {database.event_position_sql}, ?, ?, ?, ?, ?)",
        event_id,
        tenant_id,
        type,
        supplier_id,
        channel_id,
        _json.encode(data).decode(),
        utcnow(),
    )
    return event_id


def _audience(principal: Principal) -> tuple[str, list[Any]]:
    return audience.sql_filter(principal.type, principal.owner_id)


async def feed(principal: Principal, after: str | None, limit: int, types: list[str] | None) -> list[dict[str, Any]]:
    """Events visible to `principal` in commit order, after the event `after` (limit + 1 rows)."""
    database = db()
    audience_sql, args = _audience(principal)
    sql = "SELECT id, type, data, created_at, position FROM events WHERE tenant_id = ?" + audience_sql
    params: list[Any] = [principal.tenant_id, *args]
    if after is not None:
        # The cursor is an event id; its position is looked up within the same tenant, so a
        # foreign or unknown id simply starts nowhere rather than revealing anything.
        sql += " AND (position, id) > (SELECT position, id FROM events WHERE id = ? AND tenant_id = ?)"
        params += [after, principal.tenant_id]
    if types:
        sql += f" AND type IN ({', '.join('?' for _ in types)})"
        params += types
    if database.feed_horizon_sql:
        sql += f" AND position < {database.feed_horizon_sql}"
    sql += " ORDER BY position, id LIMIT ?"
    params.append(limit + 1)
    return await database.fetch(sql, *params)


async def get_event(principal: Principal, event_id: str) -> dict[str, Any] | None:
    audience_sql, args = _audience(principal)
    rows = await db().fetch(
        "SELECT id, type, data, created_at, position FROM events WHERE id = ? AND tenant_id = ?" + audience_sql,
        event_id,
        principal.tenant_id,
        *args,
    )
    return rows[0] if rows else None
