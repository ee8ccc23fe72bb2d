"""The money journal's one writer (`money_entries`).

Each flow that moves money calls `record` inside its own transaction, so an entry exists if and
only if the change it explains committed: the fulfilment module when it opens a share (a sale,
or the share that takes over a re-routed one) and when a share leaves (cancelled, returned,
rejected). Entries are derived from the share's own row, the same function both ways, so a
reversal is the exact negative of what was booked.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from channels.statements.arithmetic import KINDS, day_of, postings_of_share
from gateway.clock import utcnow
from gateway.ids import new_id
from gateway.records import json_value
from gateway.storage import db

_COLUMNS = (
    "id, tenant_id, at, day, kind, order_id, fulfilment_order_id, channel_id, supplier_id, location_id, sku, qty, "
    "currency, retail_amount, wholesale_amount, platform_fee_amount, channel_margin_amount, delivery_fee_amount"
)
_INSERT = f"INSERT INTO money_entries ({_COLUMNS}) VALUES ({', '.join('?' for _ in _COLUMNS.split(','))})"


async def record(share: Mapping[str, Any], kind: str, *, reverse: bool = False, at: datetime | None = None) -> None:
    """Book the money of one share (a `fulfilment_orders` row), or reverse it, in the caller's
    transaction."""
    if kind not in KINDS:
        raise ValueError(f"unknown journal kind {kind!r}")
    at = at or utcnow()
    day = day_of(at)
    rows = [
        (
            new_id("mny"),
            share["tenant_id"],
            at,
            day,
            kind,
            share["order_id"],
            share["id"],
            share["channel_id"],
            share["supplier_id"],
            share["location_id"],
            posting.sku,
            posting.qty,
            share["currency"],
            posting.amounts.retail,
            posting.amounts.wholesale,
            posting.amounts.platform_fee,
            posting.amounts.channel_margin,
            posting.amounts.delivery_fee,
        )
        for posting in postings_of_share(
            json_value(share["lines"]), int(share["delivery_fee_amount"]), -1 if reverse else 1
        )
    ]
    await db().write_many(_INSERT, rows)  # queued with the change's other writes (Database.write)
