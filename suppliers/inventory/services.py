"""Every stock mutation, in one module, with one lock order (Saleor's `management.py` lesson).

Rules that hold for every function here:

- a level changes only together with the movement(s) that explain it, in one transaction;
- a sale takes stock with one conditional UPDATE (`available >= qty` in its WHERE clause), so
  concurrent takers can never drive `available` below zero, on SQLite (writers serialised by
  BEGIN IMMEDIATE) or PostgreSQL (the UPDATE re-checks its condition on the locked row);
- batches lock their levels in (location_id, sku) order, so two batches cannot deadlock;
- set-based SQL: a batch of thousands of items is a handful of statements, not a loop of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from gateway.clock import utcnow
from gateway.events.services import emit
from gateway.http.problems import conflict, not_found
from gateway.ids import new_id
from gateway.storage import db
from gateway.tenancy.principal import Principal
from suppliers.inventory import ledger
from suppliers.inventory.ledger import AlreadyApplied, Delta, Level, Refused
from suppliers.inventory.schemas import (
    AdjustItem,
    BatchResult,
    ItemError,
    ItemResult,
    LevelOut,
    SetItem,
)

SYSTEM = "system"
CHUNK = 500  # keys per IN (...) list: well inside both engines' parameter limits

_LEVEL_COLUMNS = (
    "id, location_id, sku, supplier_id, on_hand, reserved, committed, safety_stock, last_sequence, updated_at"
)
_LEVEL_COLUMNS_QUALIFIED = ", ".join(f"inventory_levels.{column.strip()}" for column in _LEVEL_COLUMNS.split(","))
_MOVEMENT_INSERT = (
    "INSERT INTO inventory_movements (id, tenant_id, supplier_id, location_id, sku, delta_on_hand, "
    "delta_reserved, delta_committed, reason, reference, actor, idempotency_key, at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def level_out(row: dict[str, Any]) -> LevelOut:
    level = Level(
        on_hand=row["on_hand"], reserved=row["reserved"], committed=row["committed"], safety_stock=row["safety_stock"]
    )
    return LevelOut(
        id=row["id"],
        location_id=row["location_id"],
        sku=row["sku"],
        on_hand=level.on_hand,
        reserved=level.reserved,
        committed=level.committed,
        safety_stock=level.safety_stock,
        available=level.available,
        last_sequence=row["last_sequence"],
        updated_at=row["updated_at"],
    )


def _movement_row(
    tenant_id: str,
    supplier_id: str,
    location_id: str,
    sku: str,
    delta: Delta,
    actor: str,
    reference: str | None = None,
    idempotency_key: str | None = None,
    at: datetime | None = None,
) -> tuple[Any, ...]:
    return (
        new_id("mov"),
        tenant_id,
        supplier_id,
        location_id,
        sku,
        delta.on_hand,
        delta.reserved,
        delta.committed,
        delta.reason,
        reference,
        actor,
        idempotency_key,
        at or utcnow(),
    )


# -- what the caller may touch ------------------------------------------------------------------


async def _writable_locations(principal: Principal, location_ids: Iterable[str]) -> dict[str, str]:
    """location id → supplier id, for the locations this principal may stock (its own, or any
    in the tenant for the operator). Others are simply absent: not found, like missing ones."""
    ids = sorted(set(location_ids))
    found: dict[str, str] = {}
    scope = principal.scope("supplier")
    for chunk in _chunks(ids):
        marks = ", ".join("?" for _ in chunk)
        sql = f"SELECT id, supplier_id FROM locations WHERE tenant_id = ? AND id IN ({marks})"
        args: list[Any] = [principal.tenant_id, *chunk]
        if scope is not None:
            sql += " AND supplier_id = ?"
            args.append(scope)
        for row in await db().fetch(sql, *args):
            found[row["id"]] = row["supplier_id"]
    return found


async def _offered(tenant_id: str, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (supplier, sku) pairs with an active offer: only those may hold stock."""
    wanted = sorted(set(pairs))
    offered: set[tuple[str, str]] = set()
    for chunk in _chunks(wanted):
        source, matches = db().pairs_sql("offers", "supplier_id", "sku", len(chunk))
        args = [value for pair in chunk for value in pair]
        rows = await db().fetch(
            f"SELECT offers.supplier_id, offers.sku FROM {source} "
            f"WHERE {matches} AND offers.tenant_id = ? AND offers.active = ?",
            *args,
            tenant_id,
            True,
        )
        offered.update((row["supplier_id"], row["sku"]) for row in rows)
    return offered


async def _lock_levels(tenant_id: str, keys: list[tuple[str, str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Create missing levels at zero, then read (and on PostgreSQL lock) them in key order.

    `keys` are (location_id, sku, supplier_id). Must run inside a transaction.
    """
    database = db()
    now = utcnow()
    ordered = sorted(set(keys))
    await database.execute_many(
        "INSERT INTO inventory_levels (id, tenant_id, supplier_id, location_id, sku, on_hand, reserved, committed, "
        "safety_stock, last_sequence, updated_at) VALUES (?, ?, ?, ?, ?, 0, 0, 0, 0, NULL, ?) "
        "ON CONFLICT (location_id, sku) DO NOTHING",
        [(new_id("lvl"), tenant_id, supplier, location, sku, now) for location, sku, supplier in ordered],
    )
    levels: dict[tuple[str, str], dict[str, Any]] = {}
    for chunk in _chunks(ordered):
        # the engine's best form of "these (location, sku) pairs" (Database.pairs_sql): the
        # plain `IN (VALUES …)` made SQLite scan all of the tenant's levels for every 500 items
        source, matches = database.pairs_sql("inventory_levels", "location_id", "sku", len(chunk))
        args = [value for location, sku, _ in chunk for value in (location, sku)]
        rows = await database.fetch(
            f"SELECT {_LEVEL_COLUMNS_QUALIFIED} FROM {source} WHERE {matches} AND inventory_levels.tenant_id = ? "
            f"ORDER BY inventory_levels.location_id, inventory_levels.sku{database.lock_rows_sql}",
            *args,
            tenant_id,
        )
        for row in rows:
            levels[(row["location_id"], row["sku"])] = row
    return levels


def _as_level(row: dict[str, Any]) -> Level:
    return Level(
        on_hand=row["on_hand"],
        reserved=row["reserved"],
        committed=row["committed"],
        safety_stock=row["safety_stock"],
        last_sequence=row["last_sequence"],
    )


def _refused(index: int, item: Any, code: str, message: str) -> ItemResult:
    return ItemResult(
        index=index,
        location_id=item.location_id,
        sku=item.sku,
        status="refused",
        error=ItemError(code=code, message=message),
    )


async def _eligible(
    principal: Principal, items: Sequence[SetItem | AdjustItem]
) -> tuple[dict[str, str], set[tuple[str, str]]]:
    locations = await _writable_locations(principal, (item.location_id for item in items))
    offered = await _offered(
        principal.tenant_id, ((locations[i.location_id], i.sku) for i in items if i.location_id in locations)
    )
    return locations, offered


def _precheck(
    index: int, item: SetItem | AdjustItem, locations: dict[str, str], offered: set[tuple[str, str]]
) -> ItemResult | None:
    supplier = locations.get(item.location_id)
    if supplier is None:
        return _refused(index, item, "location_not_found", f"No such location: {item.location_id}")
    if (supplier, item.sku) not in offered:
        return _refused(index, item, "not_offered", f"The location's supplier has no active offer for sku {item.sku}")
    return None


# -- set and adjust: the supplier's two ways of writing stock ----------------------------------


async def set_levels(principal: Principal, items: Sequence[SetItem]) -> BatchResult:
    """Absolute counts with a supplier sequence; stale or out-of-order items are refused."""

    def plan(level: Level, item: SetItem) -> Delta | Refused | AlreadyApplied:
        return ledger.plan_set(level, item.on_hand, item.sequence)

    return await _apply(principal, items, plan, idempotency_key=None)


async def adjust_levels(principal: Principal, items: Sequence[AdjustItem], idempotency_key: str | None) -> BatchResult:
    """Deltas with a reason; one that would take `on_hand` below zero is refused.

    With an `Idempotency-Key`, each item's movement carries `key#index` under a unique index:
    an item already applied by an earlier attempt (say, before a crash) is not applied again.
    """

    def plan(level: Level, item: AdjustItem) -> Delta | Refused:
        return ledger.plan_adjust(level, item.delta, item.reason)

    return await _apply(principal, items, plan, idempotency_key=idempotency_key)


async def _apply(principal: Principal, items: Sequence[Any], plan: Any, idempotency_key: str | None) -> BatchResult:
    database = db()
    tenant = principal.tenant_id
    locations, offered = await _eligible(principal, items)
    results: list[ItemResult | None] = [None] * len(items)
    valid: list[int] = []
    for index, item in enumerate(items):
        refusal = _precheck(index, item, locations, offered)
        if refusal is not None:
            results[index] = refusal
        else:
            valid.append(index)

    item_keys = {i: f"{idempotency_key}#{i}" for i in valid} if idempotency_key else {}
    async with database.transaction():
        done = await _already_applied(tenant, list(item_keys.values())) if item_keys else set()
        levels = await _lock_levels(
            tenant, [(items[i].location_id, items[i].sku, locations[items[i].location_id]) for i in valid]
        )
        now = utcnow()
        movements: list[tuple[Any, ...]] = []
        touched: dict[tuple[str, str], dict[str, Any]] = {}
        for index in valid:
            item = items[index]
            key = (item.location_id, item.sku)
            row = touched.get(key) or levels[key]
            if item_keys.get(index) in done:
                results[index] = ItemResult(
                    index=index, location_id=item.location_id, sku=item.sku, status="applied", level=level_out(row)
                )
                continue
            level = _as_level(row)
            outcome = plan(level, item)
            if isinstance(outcome, AlreadyApplied):
                results[index] = ItemResult(
                    index=index, location_id=item.location_id, sku=item.sku, status="applied", level=level_out(row)
                )
                continue
            if isinstance(outcome, Refused):
                results[index] = _refused(index, item, outcome.code, outcome.message)
                continue
            new = outcome.apply(level)
            if outcome.is_zero:
                # the count matches the level: advance the sequence (and the safety stock) but write
                # no movement, so a periodic full push of unchanged counts does not grow the ledger
                status: Literal["applied", "unchanged"] = "unchanged"
                if isinstance(item, SetItem):
                    same = {**row, "last_sequence": item.sequence, "updated_at": now}
                    if item.safety_stock is not None and item.safety_stock != row["safety_stock"]:
                        same["safety_stock"] = item.safety_stock
                        status = "applied"  # a new safety stock is a change, of policy not of stock
                    touched[key] = same
                    row = same
                results[index] = ItemResult(
                    index=index, location_id=item.location_id, sku=item.sku, status=status, level=level_out(row)
                )
                continue
            updated = {
                **row,
                "on_hand": new.on_hand,
                "reserved": new.reserved,
                "committed": new.committed,
                "updated_at": now,
            }
            if isinstance(item, SetItem):
                updated["last_sequence"] = item.sequence
                if item.safety_stock is not None:
                    updated["safety_stock"] = item.safety_stock
            touched[key] = updated
            movements.append(
                _movement_row(
                    tenant,
                    row["supplier_id"],
                    item.location_id,
                    item.sku,
                    outcome,
                    principal.key_id,
                    getattr(item, "reference", None),
                    item_keys.get(index),
                    now,
                )
            )
            results[index] = ItemResult(
                index=index, location_id=item.location_id, sku=item.sku, status="applied", level=level_out(updated)
            )

        await database.execute_many(
            "UPDATE inventory_levels SET on_hand = ?, reserved = ?, committed = ?, safety_stock = ?, last_sequence = ?, "
            "updated_at = ? WHERE id = ?",
            [
                (r["on_hand"], r["reserved"], r["committed"], r["safety_stock"], r["last_sequence"], now, r["id"])
                for r in touched.values()
            ],
        )
        await database.execute_many(_MOVEMENT_INSERT, movements)
        for row in touched.values():
            if _as_level(row).shortage:
                await emit(tenant, "inventory.shortage", level_out(row), supplier_id=row["supplier_id"])

    final = [r for r in results if r is not None]
    applied = sum(1 for r in final if r.status == "applied")
    refused = sum(1 for r in final if r.status == "refused")
    return BatchResult(applied=applied, unchanged=len(final) - applied - refused, refused=refused, results=final)


async def _already_applied(tenant_id: str, keys: list[str]) -> set[str]:
    done: set[str] = set()
    for chunk in _chunks(keys):
        marks = ", ".join("?" for _ in chunk)
        rows = await db().fetch(
            f"SELECT idempotency_key FROM inventory_movements WHERE tenant_id = ? AND idempotency_key IN ({marks})",
            tenant_id,
            *chunk,
        )
        done.update(row["idempotency_key"] for row in rows)
    return done


# -- the operations orders need -----------------------------------------------------------------


async def _change(
    tenant_id: str,
    location_id: str,
    sku: str,
    delta: Delta,
    actor: str,
    reference: str | None,
    condition: str,
    condition_args: tuple[Any, ...],
) -> dict[str, Any] | None:
    """Apply `delta` to one level with one conditional UPDATE, plus its movement.

    Returns the level after the change, or None when `condition` did not hold (nothing
    written). Must run inside a transaction.
    """
    database = db()
    now = utcnow()
    rows = await database.fetch(
        "UPDATE inventory_levels SET on_hand = on_hand + ?, reserved = reserved + ?, committed = committed + ?, "
        f"updated_at = ? WHERE tenant_id = ? AND location_id = ? AND sku = ? AND {condition} "
        f"RETURNING {_LEVEL_COLUMNS}",
        delta.on_hand,
        delta.reserved,
        delta.committed,
        now,
        tenant_id,
        location_id,
        sku,
        *condition_args,
    )
    if not rows:
        return None
    row = rows[0]
    await database.fetch(
        _MOVEMENT_INSERT,
        *_movement_row(tenant_id, row["supplier_id"], location_id, sku, delta, actor, reference, at=now),
    )
    return row


async def _take(
    tenant_id: str, location_id: str, sku: str, qty: int, delta: Delta, actor: str, reference: str | None
) -> dict[str, Any] | None:
    """Move `qty` out of `available`: the check and the write are one statement."""
    return await _change(
        tenant_id,
        location_id,
        sku,
        delta,
        actor,
        reference,
        "on_hand - reserved - committed - safety_stock >= ?",
        (qty,),
    )


async def _move(
    tenant_id: str, location_id: str, sku: str, delta: Delta, actor: str, reference: str | None
) -> dict[str, Any] | None:
    """Apply a delta that takes nothing from `available` (release, ship, cancel, return),
    guarded so no column goes negative."""
    return await _change(
        tenant_id,
        location_id,
        sku,
        delta,
        actor,
        reference,
        "on_hand + ? >= 0 AND reserved + ? >= 0 AND committed + ? >= 0",
        (delta.on_hand, delta.reserved, delta.committed),
    )


async def reserve(
    tenant_id: str,
    location_id: str,
    sku: str,
    qty: int,
    ttl: timedelta,
    actor: str = SYSTEM,
    reference: str | None = None,
) -> dict[str, Any] | None:
    """Hold `qty` for a quote until `ttl` passes. None when not enough is available."""
    now = utcnow()
    reservation_id = new_id("res")
    async with db().transaction():
        level = await _take(tenant_id, location_id, sku, qty, ledger.plan_reserve_unchecked(qty), actor, reservation_id)
        if level is None:
            return None
        row = {
            "id": reservation_id,
            "tenant_id": tenant_id,
            "supplier_id": level["supplier_id"],
            "location_id": location_id,
            "sku": sku,
            "qty": qty,
            "status": "held",
            "reference": reference,
            "expires_at": now + ttl,
            "created_at": now,
        }
        await db().fetch(
            f"INSERT INTO reservations ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})", *row.values()
        )
    return row


async def _close_reservation(
    tenant_id: str, reservation_id: str, status: str, delta_for: Any, actor: str
) -> dict[str, Any] | None:
    """Move a held reservation to `status`; exactly one closer wins a race (conditional UPDATE)."""
    async with db().transaction():
        rows = await db().fetch(
            "UPDATE reservations SET status = ? WHERE tenant_id = ? AND id = ? AND status = 'held' "
            f"RETURNING {RESERVATION_COLUMNS}",
            status,
            tenant_id,
            reservation_id,
        )
        if not rows:
            return None
        held = rows[0]
        level = await _move(tenant_id, held["location_id"], held["sku"], delta_for(held["qty"]), actor, reservation_id)
        if level is None:  # the ledger and the reservation disagree: never silently
            raise RuntimeError(f"reservation {reservation_id} exceeds its level's reserved units")
    return held


async def release(tenant_id: str, reservation_id: str, actor: str = SYSTEM) -> dict[str, Any] | None:
    return await _close_reservation(tenant_id, reservation_id, "released", ledger.plan_release, actor)


async def commit(tenant_id: str, reservation_id: str, actor: str = SYSTEM) -> dict[str, Any] | None:
    """A quote becomes an order: the held units become committed units."""
    return await _close_reservation(tenant_id, reservation_id, "committed", ledger.plan_commit_reserved, actor)


async def commit_available(
    tenant_id: str, location_id: str, sku: str, qty: int, actor: str = SYSTEM, reference: str | None = None
) -> dict[str, Any] | None:
    """An order without a quote: take straight from `available` into `committed`."""
    async with db().transaction():
        return await _take(tenant_id, location_id, sku, qty, Delta(committed=qty, reason="committed"), actor, reference)


class LostRace(Exception):
    """A conditional take found fewer units than planned: another sale got there first. The
    caller's transaction is to roll back and plan again on fresh stock."""


Take = tuple[str, str, int]  # (location_id, sku, qty)


def _merged(takes: Iterable[Take]) -> list[Take]:
    """One take per level, in lock order (location_id, sku)."""
    total: dict[tuple[str, str], int] = {}
    for location_id, sku, qty in takes:
        total[(location_id, sku)] = total.get((location_id, sku), 0) + qty
    return [(location_id, sku, qty) for (location_id, sku), qty in sorted(total.items())]


#: PostgreSQL: lock the levels in (location_id, sku) order, take from `available` where it
#: suffices (the UPDATE re-checks the condition on the locked row's latest version), write
#: the movements, and, for quotes, the reservations: one statement, one round trip. All or
#: nothing: the takes happen only when every wanted level is there and has the units (as the
#: lock read them: the latest versions), so a short take writes nothing and needs no savepoint
#: of its own (the caller's transaction, whose retry must drop the locks, has one). The arrays are read through a subquery so that the plan does not depend on their
#: lengths: PostgreSQL then keeps one generic plan instead of planning the statement each time.
_PG_TAKE = """
WITH wanted AS (
    SELECT * FROM unnest((SELECT ?::text[]), (SELECT ?::text[]), (SELECT ?::bigint[]), (SELECT ?::text[]),
        (SELECT ?::text[])) AS w(location_id, sku, qty, movement_id, reservation_id)
), locked AS (
    SELECT l.id, w.qty, w.movement_id, w.reservation_id,
        l.on_hand - l.reserved - l.committed - l.safety_stock >= w.qty AS enough FROM inventory_levels l
    JOIN wanted w ON l.location_id = w.location_id AND l.sku = w.sku
    WHERE l.tenant_id = ? ORDER BY l.location_id, l.sku FOR UPDATE OF l
), taken AS (
    UPDATE inventory_levels l SET {column} = l.{column} + k.qty, updated_at = ?::timestamptz
    FROM locked k WHERE l.id = k.id AND l.on_hand - l.reserved - l.committed - l.safety_stock >= k.qty
        AND (SELECT count(*) FROM locked WHERE enough) = (SELECT count(*) FROM wanted)
    RETURNING l.tenant_id, l.supplier_id, l.location_id, l.sku, k.qty, k.movement_id, k.reservation_id
), moved AS (
    INSERT INTO inventory_movements (id, tenant_id, supplier_id, location_id, sku, delta_on_hand,
        delta_reserved, delta_committed, reason, reference, actor, idempotency_key, at)
    SELECT movement_id, tenant_id, supplier_id, location_id, sku, 0, {reserved}, {committed}, ?::text,
        COALESCE(reservation_id, ?::text), ?::text, NULL, ?::timestamptz FROM taken
){held}
SELECT location_id, sku, reservation_id FROM taken
"""
_PG_HOLD = """, held AS (
    INSERT INTO reservations (id, tenant_id, supplier_id, location_id, sku, qty, status, reference, expires_at, created_at)
    SELECT reservation_id, tenant_id, supplier_id, location_id, sku, qty, 'held', ?::text, ?::timestamptz,
        ?::timestamptz FROM taken
)"""
_PG_COMMIT_SQL = _PG_TAKE.format(column="committed", reserved="0", committed="qty", held="")
_PG_RESERVE_SQL = _PG_TAKE.format(column="reserved", reserved="qty", committed="0", held=_PG_HOLD)


async def _pg_take(
    sql: str, tenant_id: str, wanted: list[Take], reason: str, actor: str, reference: str | None, *tail: Any
) -> dict[tuple[str, str], str | None]:
    reservation_ids = [new_id("res") for _ in wanted] if sql is _PG_RESERVE_SQL else [None] * len(wanted)
    now = utcnow()
    rows = await db().fetch(
        sql,
        [location_id for location_id, _, _ in wanted],
        [sku for _, sku, _ in wanted],
        [qty for _, _, qty in wanted],
        [new_id("mov") for _ in wanted],
        reservation_ids,
        tenant_id,
        now,
        reason,
        reference,
        actor,
        now,
        *tail,
    )
    if len(rows) < len(wanted):  # nothing was written (all or nothing), or the lists disagree
        if rows:
            raise RuntimeError(f"a take of {len(wanted)} levels took {len(rows)}: all or nothing failed")
        await _raise_short(tenant_id, wanted)
    return {(row["location_id"], row["sku"]): row["reservation_id"] for row in rows}


async def _raise_short(tenant_id: str, wanted: list[Take]) -> None:
    """LostRace naming the first level (in lock order) that lacks the units or is missing."""
    source, matches = db().pairs_sql("inventory_levels", "location_id", "sku", len(wanted))
    rows = await db().fetch(
        f"SELECT inventory_levels.location_id, inventory_levels.sku, inventory_levels.on_hand - "
        "inventory_levels.reserved - inventory_levels.committed - inventory_levels.safety_stock AS available "
        f"FROM {source} WHERE {matches} AND inventory_levels.tenant_id = ?",
        *[value for location_id, sku, _ in wanted for value in (location_id, sku)],
        tenant_id,
    )
    available = {(row["location_id"], row["sku"]): row["available"] for row in rows}
    short = [(location_id, sku) for location_id, sku, qty in wanted if available.get((location_id, sku), -1) < qty]
    raise LostRace(*(short[0] if short else wanted[0][:2]))


async def take_committed(
    tenant_id: str, takes: Iterable[Take], actor: str = SYSTEM, reference: str | None = None
) -> None:
    """An order without a quote: take every (location, sku, qty) straight from `available`
    into `committed`, all or nothing. The levels are locked in (location_id, sku) order here,
    so callers never sort; LostRace (and nothing written) when a level has fewer than asked.
    On PostgreSQL the takes and their movements are one statement (atomic by itself: no
    savepoint around it)."""
    wanted = _merged(takes)
    if db().dialect == "postgres":
        await _pg_take(_PG_COMMIT_SQL, tenant_id, wanted, "committed", actor, reference)
        return
    async with db().transaction():  # a short level rolls back the ones taken before it
        for location_id, sku, qty in wanted:
            taken = await _take(
                tenant_id, location_id, sku, qty, Delta(committed=qty, reason="committed"), actor, reference
            )
            if taken is None:
                raise LostRace(location_id, sku)


async def reserve_all(
    tenant_id: str, takes: Iterable[Take], ttl: timedelta, actor: str = SYSTEM, reference: str | None = None
) -> dict[tuple[str, str], str]:
    """Hold every (location, sku, qty) for a quote, all or nothing, in lock order: the
    reservation id of each (location, sku); LostRace (nothing held) when one falls short.
    On PostgreSQL the takes, movements and reservations are one statement."""
    wanted = _merged(takes)
    held: dict[tuple[str, str], str] = {}
    if db().dialect == "postgres":
        now = utcnow()
        found = await _pg_take(_PG_RESERVE_SQL, tenant_id, wanted, "reserved", actor, None, reference, now + ttl, now)
        return {key: str(reservation_id) for key, reservation_id in found.items()}
    async with db().transaction():
        for location_id, sku, qty in wanted:
            reservation = await reserve(tenant_id, location_id, sku, qty, ttl, actor, reference)
            if reservation is None:
                raise LostRace(location_id, sku)
            held[(location_id, sku)] = reservation["id"]
    return held


async def commit_all(tenant_id: str, reservation_ids: Iterable[str], actor: str = SYSTEM) -> bool:
    """A quote becomes an order: every held reservation becomes committed units. False when one is no longer held (expired meanwhile): the caller rolls back."""
    for reservation_id in sorted(reservation_ids):
        if await commit(tenant_id, reservation_id, actor) is None:
            return False
    return True


async def ship(
    tenant_id: str, location_id: str, sku: str, qty: int, actor: str = SYSTEM, reference: str | None = None
) -> dict[str, Any] | None:
    async with db().transaction():
        return await _move(tenant_id, location_id, sku, ledger.plan_ship(qty), actor, reference)


async def cancel(
    tenant_id: str, location_id: str, sku: str, qty: int, actor: str = SYSTEM, reference: str | None = None
) -> dict[str, Any] | None:
    """An order cancelled before shipping: its committed units are free again."""
    async with db().transaction():
        return await _move(tenant_id, location_id, sku, ledger.plan_cancel(qty), actor, reference)


async def restock(
    tenant_id: str, location_id: str, sku: str, qty: int, actor: str = SYSTEM, reference: str | None = None
) -> dict[str, Any] | None:
    """A return: the units are back on hand."""
    async with db().transaction():
        return await _move(tenant_id, location_id, sku, ledger.plan_return(qty), actor, reference)


async def hold(
    principal: Principal, location_id: str, sku: str, qty: int, ttl: timedelta, reference: str | None
) -> dict[str, Any]:
    """`POST /v1/inventory/reservations`: a hold placed by hand, on a location the caller may stock."""
    if location_id not in await _writable_locations(principal, [location_id]):
        raise not_found("location", location_id)
    held = await reserve(principal.tenant_id, location_id, sku, qty, ttl, principal.key_id, reference)
    if held is None:
        raise conflict(f"Fewer than {qty} units of {sku} are available at {location_id}", slug="insufficient-stock")
    return held


async def get_reservation(principal: Principal, reservation_id: str) -> dict[str, Any]:
    rows = await list_rows(principal, "reservations", RESERVATION_COLUMNS, 1, None, {"id": reservation_id})
    if not rows:
        raise not_found("reservation", reservation_id)
    return rows[0]


async def close_held(principal: Principal, reservation_id: str, action: str) -> dict[str, Any]:
    """Release or commit a held reservation the caller can see; 409 once it is closed."""
    await get_reservation(principal, reservation_id)  # 404 unless visible
    closer = release if action == "release" else commit
    closed = await closer(principal.tenant_id, reservation_id, principal.key_id)
    if closed is None:
        status = (await get_reservation(principal, reservation_id))["status"]
        raise conflict(f"Reservation {reservation_id} is no longer held: it is {status}", slug="reservation-closed")
    return closed


async def expire_reservations(limit: int = 500) -> int:
    """Release every held reservation past its `expires_at` (all tenants). Returns how many."""
    rows = await db().fetch(
        "SELECT tenant_id, id FROM reservations WHERE status = 'held' AND expires_at < ? ORDER BY expires_at LIMIT ?",
        utcnow(),
        limit,
    )
    expired = 0
    for row in rows:
        if await _close_reservation(row["tenant_id"], row["id"], "expired", ledger.plan_release, SYSTEM):
            expired += 1
    return expired


# -- transfers between two locations of one supplier ----------------------------------------------

_TRANSFER_COLUMNS = (
    "id, supplier_id, from_location_id, to_location_id, sku, qty, status, version, created_at, updated_at"
)


async def create_transfer(
    principal: Principal, from_location: str, to_location: str, sku: str, qty: int, reference: str | None
) -> dict[str, Any]:
    """Units leave the origin now (`transfer_out`) and are in transit until received."""
    if from_location == to_location:
        raise conflict("A transfer needs two different locations", slug="same-location")
    locations = await _writable_locations(principal, (from_location, to_location))
    for location in (from_location, to_location):
        if location not in locations:
            raise not_found("location", location)
    supplier = locations[from_location]
    if locations[to_location] != supplier:
        raise conflict("Both locations of a transfer must belong to one supplier", slug="different-suppliers")
    if (supplier, sku) not in await _offered(principal.tenant_id, [(supplier, sku)]):
        raise conflict(f"The supplier has no active offer for sku {sku}", slug="not-offered")
    now = utcnow()
    transfer_id = new_id("trf")
    async with db().transaction():
        taken = await _take(
            principal.tenant_id,
            from_location,
            sku,
            qty,
            Delta(on_hand=-qty, reason="transfer_out"),
            principal.key_id,
            transfer_id,
        )
        if taken is None:
            raise conflict(
                f"Fewer than {qty} units of {sku} are available at {from_location}", slug="insufficient-stock"
            )
        await _lock_levels(
            principal.tenant_id, [(to_location, sku, supplier)]
        )  # the destination level exists from now on
        row = {
            "id": transfer_id,
            "tenant_id": principal.tenant_id,
            "supplier_id": supplier,
            "from_location_id": from_location,
            "to_location_id": to_location,
            "sku": sku,
            "qty": qty,
            "status": "in_transit",
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        await db().fetch(
            f"INSERT INTO transfers ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})", *row.values()
        )
        await emit(principal.tenant_id, "inventory.transfer.created", _public(row), supplier_id=supplier)
    return row


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key != "tenant_id"}


async def finish_transfer(principal: Principal, transfer_id: str, outcome: str) -> dict[str, Any]:
    """`received`: the units arrive at the destination; `cancelled`: they return to the origin."""
    scope = principal.scope("supplier")
    async with db().transaction():
        sql = (
            f"UPDATE transfers SET status = ?, version = version + 1, updated_at = ? WHERE tenant_id = ? AND id = ? "
            f"AND status = 'in_transit'{' AND supplier_id = ?' if scope is not None else ''} RETURNING {_TRANSFER_COLUMNS}"
        )
        args: list[Any] = [outcome, utcnow(), principal.tenant_id, transfer_id]
        if scope is not None:
            args.append(scope)
        rows = await db().fetch(sql, *args)
        if not rows:
            current = await get_transfer(principal, transfer_id)  # 404 if not visible
            raise conflict(f"Transfer {transfer_id} is already {current['status']}", slug="transfer-finished")
        row = rows[0]
        location = row["to_location_id"] if outcome == "received" else row["from_location_id"]
        arrived = await _move(
            principal.tenant_id,
            location,
            row["sku"],
            Delta(on_hand=row["qty"], reason="transfer_in"),
            principal.key_id,
            transfer_id,
        )
        if arrived is None:
            raise RuntimeError(f"transfer {transfer_id}: no level at {location}")
        await emit(principal.tenant_id, f"inventory.transfer.{outcome}", _public(row), supplier_id=row["supplier_id"])
    return row


async def get_transfer(principal: Principal, transfer_id: str) -> dict[str, Any]:
    scope = principal.scope("supplier")
    sql = f"SELECT {_TRANSFER_COLUMNS} FROM transfers WHERE tenant_id = ? AND id = ?"
    args: list[Any] = [principal.tenant_id, transfer_id]
    if scope is not None:
        sql += " AND supplier_id = ?"
        args.append(scope)
    rows = await db().fetch(sql, *args)
    if not rows:
        raise not_found("transfer", transfer_id)
    return rows[0]


# -- reading the ledger ----------------------------------------------------------------------------


async def list_rows(
    principal: Principal, table: str, columns: str, limit: int, after: str | None, filters: dict[str, Any]
) -> list[dict[str, Any]]:
    """A page of a supplier-owned ledger table, scoped to the caller, in id order."""
    scope = principal.scope("supplier")
    if scope is not None:
        filters = {**filters, "supplier_id": scope}
    sql = f"SELECT {columns} FROM {table} WHERE tenant_id = ?"
    args: list[Any] = [principal.tenant_id]
    for column, value in filters.items():
        if value is not None:
            sql += f" AND {column} = ?"
            args.append(value)
    if after is not None:
        sql += " AND id > ?"
        args.append(after)
    sql += " ORDER BY id LIMIT ?"
    args.append(limit + 1)
    return await db().fetch(sql, *args)


LEVEL_COLUMNS = _LEVEL_COLUMNS
RESERVATION_COLUMNS = "id, supplier_id, location_id, sku, qty, status, reference, expires_at, created_at"
MOVEMENT_COLUMNS = "id, location_id, sku, delta_on_hand, delta_reserved, delta_committed, reason, reference, actor, at"
TRANSFER_COLUMNS = _TRANSFER_COLUMNS


# -- the invariant ---------------------------------------------------------------------------------


async def check() -> list[dict[str, Any]]:
    """Levels that differ from the sum of their movements, or hold a negative count.

    An empty list means the ledger is consistent (`gateway inventory check`).
    """
    return await db().fetch(
        "SELECT l.tenant_id, l.location_id, l.sku, l.on_hand, l.reserved, l.committed, "
        "COALESCE(m.on_hand, 0) AS moved_on_hand, COALESCE(m.reserved, 0) AS moved_reserved, "
        "COALESCE(m.committed, 0) AS moved_committed "
        "FROM inventory_levels l LEFT JOIN ("
        "  SELECT location_id, sku, SUM(delta_on_hand) AS on_hand, SUM(delta_reserved) AS reserved, "
        "  SUM(delta_committed) AS committed FROM inventory_movements GROUP BY location_id, sku"
        ") m ON m.location_id = l.location_id AND m.sku = l.sku "
        "WHERE l.on_hand <> COALESCE(m.on_hand, 0) OR l.reserved <> COALESCE(m.reserved, 0) "
        "OR l.committed <> COALESCE(m.committed, 0) OR l.on_hand < 0 OR l.reserved < 0 OR l.committed < 0 "
        "ORDER BY l.tenant_id, l.location_id, l.sku"
    )
