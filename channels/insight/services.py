"""Insight read from the fulfilment orders: the perfect order rate per supplier and location."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from channels.insight import perfect
from channels.insight.schemas import PartOut, PerfectDayOut, PerfectOrderOut, PerfectParts
from gateway.records import timestamp_value
from gateway.storage import db
from gateway.tenancy.principal import Principal


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """[first 00:00, last + 1 day 00:00) in UTC (the end of time for the calendar's last day)."""
    end = (
        datetime.max.replace(tzinfo=UTC)
        if last == date.max
        else datetime.combine(last + timedelta(days=1), time(), UTC)
    )
    return datetime.combine(first, time(), UTC), end


def _maybe(value: Any) -> datetime | None:
    return None if value is None else timestamp_value(value)


async def perfect_orders(
    principal: Principal,
    group_by: str,
    first: date,
    last: date,
    supplier_id: str | None,
    location_id: str | None,
    after: str | None,
    limit: int,
) -> tuple[list[PerfectOrderOut], bool]:
    """Each supplier's (or location's) fulfilment orders routed in the period, judged; a
    supplier sees only its own."""
    if principal.type == "supplier":
        if supplier_id not in (None, principal.owner_id):
            return [], False
        supplier_id = principal.owner_id
    start, end = day_bounds(first, last)
    extra, args = "", []
    for column, value in (("supplier_id", supplier_id), ("location_id", location_id)):
        if value is not None:
            extra += f" AND {column} = ?"
            args.append(value)
    rows = await db().fetch(
        "SELECT supplier_id, location_id, status, accepted_at, accept_by, promised_at, finished_at, created_at "
        f"FROM fulfilment_orders WHERE tenant_id = ? AND created_at >= ? AND created_at < ?{extra}",
        principal.tenant_id,
        start,
        end,
        *args,
    )
    key = "location_id" if group_by == "location" else "supplier_id"
    totals: dict[str, perfect.Tally] = {}
    daily: dict[str, dict[str, perfect.Tally]] = {}
    owner: dict[str, str] = {}
    for row in rows:
        ident = row[key]
        if after is not None and ident <= after:
            continue
        outcome = perfect.judge(
            row["status"],
            _maybe(row["accepted_at"]),
            timestamp_value(row["accept_by"]),
            timestamp_value(row["promised_at"]),
            _maybe(row["finished_at"]),
        )
        owner[ident] = row["supplier_id"]
        totals.setdefault(ident, perfect.Tally()).add(outcome)
        if outcome is not None:
            day = timestamp_value(row["created_at"]).date().isoformat()
            daily.setdefault(ident, {}).setdefault(day, perfect.Tally()).add(outcome)
    idents = sorted(totals)
    items = []
    for ident in idents[:limit]:
        counts = totals[ident]
        items.append(
            PerfectOrderOut(
                supplier_id=owner[ident],
                location_id=ident if group_by == "location" else None,
                decided=counts.decided,
                open=counts.open,
                perfect=counts.perfect,
                rate=counts.rate(),
                parts=PerfectParts(
                    **{
                        part: PartOut(count=getattr(counts, part), rate=counts.rate(getattr(counts, part)))
                        for part in perfect.PARTS
                    }
                ),
                days=[
                    PerfectDayOut(date=date.fromisoformat(day), decided=t.decided, perfect=t.perfect, rate=t.rate())
                    for day, t in sorted(daily.get(ident, {}).items())
                ],
            )
        )
    return items, len(idents) > limit
