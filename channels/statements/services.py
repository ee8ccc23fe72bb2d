"""Statements and per-store attribution, read from the money journal (DESIGN §15).

A statement is a party's entries over a period of UTC days with its opening balance (every
entry before the period) and closing balance. Reading them straight from `money_entries`
would cost a scan of the party's whole history for each opening balance, so past days are
**closed** into `statement_days` (one row per party, currency and day) the first time someone
asks after the day is over (plus `GRACE`, so a transaction that started before midnight has
committed). A statement then reads closed days from there and only the still-open days (today,
and yesterday for the first `GRACE` of the day) from the journal. Closing is a compare-and-set
on the tenant's `statement_closings` row, so concurrent readers close each day exactly once.
This module is the one writer of `statement_days` and `statement_closings`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import msgspec

from channels.statements.arithmetic import PARTY_TYPES, CurrencyStatement, PartyType, assemble
from gateway.clock import utcnow
from gateway.http.problems import not_found
from gateway.storage import db
from gateway.tenancy.principal import Principal

#: how long after midnight (UTC) a day stays open: longer than any transaction that writes entries
GRACE = timedelta(hours=1)
#: the party's part of an entry, as SQL over `money_entries`
PART_SQL: dict[str, str] = {
    "supplier": "wholesale_amount + delivery_fee_amount",
    "channel": "channel_margin_amount",
    "platform": "platform_fee_amount",
}
#: the column naming the party on an entry (the platform takes part in every entry)
PARTY_COLUMN: dict[str, str | None] = {"supplier": "supplier_id", "channel": "channel_id", "platform": None}
ENTRY_COLUMNS = (
    "id, at, day, kind, order_id, fulfilment_order_id, channel_id, supplier_id, location_id, sku, qty, currency, "
    "retail_amount, wholesale_amount, platform_fee_amount, channel_margin_amount, delivery_fee_amount"
)


class Party(msgspec.Struct, frozen=True):
    type: PartyType
    id: str


# -- who may read what ---------------------------------------------------------------------


async def party_of(principal: Principal, party_id: str | None) -> Party | None:
    """The party a statement is for: a supplier or channel reads only its own (any other id is
    "no such party", like one that does not exist); the operator any, or every one (None).
    The platform's party id is the tenant id."""
    if principal.type in ("supplier", "channel"):
        assert principal.owner_id is not None
        if party_id not in (None, principal.owner_id):
            raise not_found("party", str(party_id))
        return Party(type=principal.type, id=principal.owner_id)  # type: ignore[arg-type]
    if party_id is None:
        return None
    if party_id == principal.tenant_id:
        return Party(type="platform", id=party_id)
    table, kind = {"sup": ("suppliers", "supplier"), "chn": ("channels", "channel")}.get(party_id[:3], ("", ""))
    if table:
        rows = await db().fetch(f"SELECT id FROM {table} WHERE tenant_id = ? AND id = ?", principal.tenant_id, party_id)
        if rows:
            return Party(type=kind, id=party_id)  # type: ignore[arg-type]
    raise not_found("party", party_id)


# -- closing days --------------------------------------------------------------------------


def closable_through() -> str:
    """The last day that may be closed now: yesterday, once `GRACE` into today."""
    return ((utcnow() - GRACE).date() - timedelta(days=1)).isoformat()


async def close_days(tenant_id: str) -> str:
    """Fold every finished day not yet closed into `statement_days`; the last closed day."""
    through = closable_through()
    rows = await db().fetch("SELECT closed_through FROM statement_closings WHERE tenant_id = ?", tenant_id)
    if not rows:
        await db().fetch(
            "INSERT INTO statement_closings (tenant_id, closed_through, updated_at) VALUES (?, '', ?) "
            "ON CONFLICT (tenant_id) DO NOTHING",
            tenant_id,
            utcnow(),
        )
        closed = ""
    else:
        closed = rows[0]["closed_through"]
    if closed >= through:
        return str(closed)
    async with db().transaction():
        won = await db().fetch(
            "UPDATE statement_closings SET closed_through = ?, updated_at = ? "
            "WHERE tenant_id = ? AND closed_through = ? RETURNING tenant_id",
            through,
            utcnow(),
            tenant_id,
            closed,
        )
        if won:
            for party_type in PARTY_TYPES:
                column = PARTY_COLUMN[party_type] or "tenant_id"
                await db().fetch(
                    "INSERT INTO statement_days (id, tenant_id, day, party_type, party_id, currency, amount, lines) "
                    f"SELECT {column} || ':' || currency || ':' || day, tenant_id, day, '{party_type}', {column}, "
                    f"currency, SUM({PART_SQL[party_type]}), COUNT(*) FROM money_entries "
                    f"WHERE tenant_id = ? AND day > ? AND day <= ? GROUP BY tenant_id, {column}, currency, day",
                    tenant_id,
                    closed,
                    through,
                )
    rows = await db().fetch("SELECT closed_through FROM statement_closings WHERE tenant_id = ?", tenant_id)
    return str(rows[0]["closed_through"])


# -- statements ------------------------------------------------------------------------------


def _party_filter(party: Party) -> tuple[str, list[Any]]:
    column = PARTY_COLUMN[party.type]
    return (f" AND {column} = ?", [party.id]) if column else ("", [])


async def statement(tenant_id: str, party: Party, first: date, last: date) -> list[CurrencyStatement]:
    """One party's statement: opening balance, day totals, closing balance, per currency."""
    closed = await close_days(tenant_id)
    start, end = first.isoformat(), last.isoformat()
    opening: dict[str, int] = {}
    for row in await db().fetch(
        "SELECT currency, SUM(amount) AS amount FROM statement_days WHERE tenant_id = ? AND party_id = ? "
        "AND day < ? GROUP BY currency",
        tenant_id,
        party.id,
        start,
    ):
        opening[row["currency"]] = int(row["amount"])
    extra, args = _party_filter(party)
    part = PART_SQL[party.type]
    for row in await db().fetch(
        f"SELECT currency, SUM({part}) AS amount FROM money_entries WHERE tenant_id = ?{extra} "
        "AND day > ? AND day < ? GROUP BY currency",
        tenant_id,
        *args,
        closed,
        start,
    ):
        opening[row["currency"]] = opening.get(row["currency"], 0) + int(row["amount"])
    totals: list[tuple[str, str, int, int]] = [
        (row["day"], row["currency"], int(row["amount"]), int(row["lines"]))
        for row in await db().fetch(
            "SELECT day, currency, amount, lines FROM statement_days WHERE tenant_id = ? AND party_id = ? "
            "AND day >= ? AND day <= ?",
            tenant_id,
            party.id,
            start,
            end,
        )
    ]
    totals += [
        (row["day"], row["currency"], int(row["amount"]), int(row["lines"]))
        for row in await db().fetch(
            f"SELECT day, currency, SUM({part}) AS amount, COUNT(*) AS lines FROM money_entries "
            f"WHERE tenant_id = ?{extra} AND day > ? AND day >= ? AND day <= ? GROUP BY day, currency",
            tenant_id,
            *args,
            closed,
            start,
            end,
        )
    ]
    return assemble(opening, totals)


async def statements(
    tenant_id: str, first: date, last: date, after: str | None, limit: int
) -> tuple[list[tuple[Party, list[CurrencyStatement]]], bool]:
    """Every party's statement, by party id (`after` one, `limit` of them), and whether more follow.
    Parties are those with an entry up to the period's end."""
    closed = await close_days(tenant_id)
    start, end = first.isoformat(), last.isoformat()
    kinds: dict[str, PartyType] = {}
    opening: dict[str, dict[str, int]] = {}
    totals: dict[str, list[tuple[str, str, int, int]]] = {}
    for row in await db().fetch(
        "SELECT party_type, party_id, currency, SUM(amount) AS amount FROM statement_days "
        "WHERE tenant_id = ? AND day < ? GROUP BY party_type, party_id, currency",
        tenant_id,
        start,
    ):
        kinds[row["party_id"]] = row["party_type"]
        opening.setdefault(row["party_id"], {})[row["currency"]] = int(row["amount"])
    for row in await db().fetch(
        "SELECT party_type, party_id, day, currency, amount, lines FROM statement_days "
        "WHERE tenant_id = ? AND day >= ? AND day <= ?",
        tenant_id,
        start,
        end,
    ):
        kinds[row["party_id"]] = row["party_type"]
        totals.setdefault(row["party_id"], []).append(
            (row["day"], row["currency"], int(row["amount"]), int(row["lines"]))
        )
    for party_type in PARTY_TYPES:  # the days still open, straight from the journal
        column = PARTY_COLUMN[party_type] or "tenant_id"
        for row in await db().fetch(
            f"SELECT {column} AS party_id, day, currency, SUM({PART_SQL[party_type]}) AS amount, COUNT(*) AS lines "
            f"FROM money_entries WHERE tenant_id = ? AND day > ? AND day <= ? GROUP BY {column}, day, currency",
            tenant_id,
            closed,
            end,
        ):
            kinds[row["party_id"]] = party_type
            if row["day"] < start:
                into = opening.setdefault(row["party_id"], {})
                into[row["currency"]] = into.get(row["currency"], 0) + int(row["amount"])
            else:
                totals.setdefault(row["party_id"], []).append(
                    (row["day"], row["currency"], int(row["amount"]), int(row["lines"]))
                )
    ordered = sorted(party_id for party_id in kinds if after is None or party_id > after)
    page = ordered[:limit]
    return [
        (Party(type=kinds[party_id], id=party_id), assemble(opening.get(party_id, {}), totals.get(party_id, [])))
        for party_id in page
    ], len(ordered) > limit


async def lines(
    tenant_id: str, party: Party | None, first: date, last: date, after: str | None, limit: int
) -> list[dict[str, Any]]:
    """The party's entries (every entry when None) in the period, by day then id; `limit + 1`
    rows so the caller knows whether more follow."""
    extra, args = _party_filter(party) if party is not None else ("", [])
    start, end = first.isoformat(), last.isoformat()
    if after is not None:
        cursor = await db().fetch("SELECT day FROM money_entries WHERE tenant_id = ? AND id = ?", tenant_id, after)
        if cursor:  # after the cursor's day, or on that day after its id
            start = max(start, cursor[0]["day"])
            extra += " AND (day > ? OR id > ?)"
            args += [cursor[0]["day"], after]
        else:  # an id that is not an entry of this tenant: nothing comes after it
            return []
    return await db().fetch(
        f"SELECT {ENTRY_COLUMNS} FROM money_entries WHERE tenant_id = ?{extra} AND day >= ? AND day <= ? "
        "ORDER BY day, id LIMIT ?",
        tenant_id,
        *args,
        start,
        end,
        limit + 1,
    )


def part_of(row: dict[str, Any], party: Party | None) -> int:
    """The party's part of an entry row; the consumer's amount when no party is named."""
    if party is None:
        return int(row["retail_amount"]) + int(row["delivery_fee_amount"])
    if party.type == "supplier":
        return int(row["wholesale_amount"]) + int(row["delivery_fee_amount"])
    if party.type == "channel":
        return int(row["channel_margin_amount"])
    return int(row["platform_fee_amount"])


async def consumer_statement(tenant_id: str, first: date, last: date) -> list[CurrencyStatement]:
    """What consumers paid, net of refunds: the sum of every party's statement (no rollup:
    this is for exports and checks of the whole journal)."""
    start, end = first.isoformat(), last.isoformat()
    opening = {
        row["currency"]: int(row["amount"])
        for row in await db().fetch(
            "SELECT currency, SUM(retail_amount + delivery_fee_amount) AS amount FROM money_entries "
            "WHERE tenant_id = ? AND day < ? GROUP BY currency",
            tenant_id,
            start,
        )
    }
    totals = [
        (row["day"], row["currency"], int(row["amount"]), int(row["lines"]))
        for row in await db().fetch(
            "SELECT day, currency, SUM(retail_amount + delivery_fee_amount) AS amount, COUNT(*) AS lines "
            "FROM money_entries WHERE tenant_id = ? AND day >= ? AND day <= ? GROUP BY day, currency",
            tenant_id,
            start,
            end,
        )
    ]
    return assemble(opening, totals)


CSV_HEADER = (
    "party,record,date,at,kind,order_id,fulfilment_order_id,channel_id,supplier_id,location_id,sku,qty,currency,"
    "amount,retail,wholesale,platform_fee,channel_margin,delivery_fee"
)


async def csv_rows(tenant_id: str, party: Party | None, first: date, last: date) -> AsyncIterator[str]:
    """The statement as CSV lines: an opening row per currency, the entries of each day followed
    by the day's total per currency, a closing row per currency. Streams the entries page by
    page, so a month of a million lines never sits in memory."""
    summary = (
        await statement(tenant_id, party, first, last)
        if party is not None
        else await consumer_statement(tenant_id, first, last)
    )
    who = party.id if party is not None else "all"
    blank = ",,,,,,,,"
    yield CSV_HEADER + "\n"
    for currency in summary:
        yield f"{who},opening,{first.isoformat()},{blank},{currency.currency},{currency.opening},,,,,\n"
    day_totals = {(t.day, c.currency): t for c in summary for t in c.days}

    def totals_of(day: str) -> list[str]:
        return [
            f"{who},day_total,{day},{blank},{c.currency},{day_totals[(day, c.currency)].amount},,,,,\n"
            for c in summary
            if (day, c.currency) in day_totals
        ]

    after: str | None = None
    current: str | None = None
    while True:
        rows = await lines(tenant_id, party, first, last, after, 5_000)
        chunk: list[str] = []
        for row in rows[:5_000]:
            if current is not None and row["day"] != current:
                chunk += totals_of(current)
            current = row["day"]
            chunk.append(
                ",".join(
                    str(value)
                    for value in (
                        who,
                        "line",
                        row["day"],
                        _iso(row["at"]),
                        row["kind"],
                        row["order_id"],
                        row["fulfilment_order_id"],
                        row["channel_id"],
                        row["supplier_id"],
                        row["location_id"],
                        row["sku"] or "",
                        row["qty"],
                        row["currency"],
                        part_of(row, party),
                        row["retail_amount"],
                        row["wholesale_amount"],
                        row["platform_fee_amount"],
                        row["channel_margin_amount"],
                        row["delivery_fee_amount"],
                    )
                )
                + "\n"
            )
        yield "".join(chunk)
        if len(rows) <= 5_000:
            break
        after = rows[4_999]["id"]
    if current is not None:
        yield "".join(totals_of(current))
    for currency in summary:
        yield f"{who},closing,{last.isoformat()},{blank},{currency.currency},{currency.closing},,,,,\n"


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


# -- per-store attribution -------------------------------------------------------------------

ATTRIBUTION_KEYS = {"location": "location_id", "channel": "channel_id"}


async def attribution(
    principal: Principal,
    group_by: str,
    first: date,
    last: date,
    filters: dict[str, str | None],
    after: str | None,
    limit: int,
) -> tuple[list[list[dict[str, Any]]], bool]:
    """Net revenue, wholesale cost, channel margin, platform fee and delivery fees of the period
    per location (with its supplier) or per channel, per currency, sales minus reversals.
    A supplier sees its own locations, a channel its own sales."""
    key = ATTRIBUTION_KEYS[group_by]
    extra = ""
    args: list[Any] = []
    scoped = dict(filters)
    if principal.type == "supplier":
        if scoped.get("supplier_id") not in (None, principal.owner_id):
            return [], False
        scoped["supplier_id"] = principal.owner_id
    elif principal.type == "channel":
        if scoped.get("channel_id") not in (None, principal.owner_id):
            return [], False
        scoped["channel_id"] = principal.owner_id
    for column, value in sorted(scoped.items()):
        if value is not None:
            extra += f" AND {column} = ?"
            args.append(value)
    if after is not None:
        extra += f" AND {key} > ?"
        args.append(after)
    supplier = ", supplier_id" if group_by == "location" else ""
    rows = await db().fetch(
        f"SELECT {key} AS id{supplier}, currency, SUM(retail_amount) AS revenue, SUM(wholesale_amount) AS wholesale, "
        "SUM(channel_margin_amount) AS margin, SUM(platform_fee_amount) AS fee, "
        "SUM(delivery_fee_amount) AS delivery, SUM(qty) AS units, COUNT(DISTINCT order_id) AS orders "
        f"FROM money_entries WHERE tenant_id = ? AND day >= ? AND day <= ?{extra} "
        f"GROUP BY {key}{supplier}, currency ORDER BY {key}, currency",
        principal.tenant_id,
        first.isoformat(),
        last.isoformat(),
        *args,
    )
    # a page holds whole keys (every currency of a location), `limit` of them
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["id"], []).append(row)
    keys = list(grouped)
    return [grouped[k] for k in keys[:limit]], len(keys) > limit


# -- the journal against the fulfilment orders -------------------------------------------------

#: fulfilment order states whose money has gone back (reversed in the journal)
REVERSED = ("cancelled", "returned", "rejected")
_SPLIT = ("retail", "wholesale", "platform_fee", "channel_margin", "delivery_fee")


async def check(tenant_id: str | None = None) -> list[dict[str, Any]]:
    """Every fulfilment order whose journal entries do not add up to its money: the whole split
    while it stands, nothing once cancelled, returned or rejected. Empty when all is well
    (`gateway statements check`)."""
    sums = ", ".join(f"SUM({part}_amount) AS j_{part}" for part in _SPLIT)
    where, args = ("WHERE f.tenant_id = ?", [tenant_id]) if tenant_id else ("", [])
    inner_where = "WHERE tenant_id = ?" if tenant_id else ""
    rows = await db().fetch(
        f"SELECT f.id, f.tenant_id, f.status, {', '.join(f'f.{p}_amount' for p in _SPLIT)}, "
        f"{', '.join(f'j.j_{p}' for p in _SPLIT)} FROM fulfilment_orders f LEFT JOIN "
        f"(SELECT tenant_id, fulfilment_order_id, {sums} FROM money_entries {inner_where} "
        "GROUP BY tenant_id, fulfilment_order_id) j ON j.tenant_id = f.tenant_id AND j.fulfilment_order_id = f.id "
        f"{where}",
        *args,
        *args,
    )
    broken = []
    for row in rows:
        standing = row["status"] not in REVERSED
        expected = {p: int(row[f"{p}_amount"]) if standing else 0 for p in _SPLIT}
        booked = {p: int(row[f"j_{p}"] or 0) for p in _SPLIT}
        if expected != booked:
            broken.append(
                {"tenant_id": row["tenant_id"], "fulfilment_order_id": row["id"], "status": row["status"],
                 "expected": expected, "journal": booked}
            )  # fmt: skip
    return broken
