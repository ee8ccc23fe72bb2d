"""Demand the gateway could not serve: the one writer of `demand_refusals`.

Placement calls `record_refusal` where it refuses a quote or an order (and fulfilment where a
rejected share finds no new home), so replenishment advice sees what was wanted and where,
not only what was sold. A refusal is written on its own, outside the refused request's (rolled
back) work: the demand was real even though nothing was taken.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from gateway.clock import utcnow
from gateway.ids import new_id
from gateway.storage import db

REASONS = ("out-of-stock", "no-location")
SOURCES = ("quote", "order", "reroute")


async def record_refusal(
    tenant_id: str,
    channel_id: str,
    lat: float,
    lng: float,
    mode: str,
    lines: Iterable[tuple[str, int]],
    unfilled: Iterable[tuple[str, int]],
    reason: str,
    source: str,
) -> None:
    if reason not in REASONS or source not in SOURCES:
        raise ValueError(f"refusal reason {reason!r} or source {source!r} unknown")
    await db().fetch(
        "INSERT INTO demand_refusals (id, tenant_id, channel_id, at, source, reason, mode, lat, lng, lines, unfilled) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        new_id("ref"),
        tenant_id,
        channel_id,
        utcnow(),
        source,
        reason,
        mode,
        lat,
        lng,
        msgspec.json.encode([{"sku": sku, "qty": qty} for sku, qty in lines]).decode(),
        msgspec.json.encode([{"sku": sku, "qty": qty} for sku, qty in unfilled]).decode(),
    )
