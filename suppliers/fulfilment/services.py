"""Fulfilment orders: opening them for an order's shipments, moving them through DESIGN §7's
state machine (`transition`), pickups, and the supplier scorecard.

Where a rejected share goes next, and the order's own row, are dispatch's
(`channels.orders.dispatch`): fulfilment tells it through `suppliers.fulfilment.hooks`.

Every transition is one conditional UPDATE on the current status, so two callers racing
(a supplier accepting while the deadline sweep re-routes) cannot both win; the ledger
movement, the counters, the order's derived status and the events commit with it.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import msgspec

from gateway import crypto
from gateway.clock import utcnow
from gateway.events.services import emit
from gateway.http.pagination import make_page
from gateway.http.problems import ProblemError, conflict, not_found
from gateway.ids import new_id
from gateway.records import json_value as _decoded
from gateway.records import timestamp_value as _aware
from gateway.storage import db
from gateway.tenancy.principal import Principal
from suppliers.fulfilment import hooks, scores, states
from suppliers.fulfilment.schemas import FulfilmentOrderOut, FulfilmentOrderPage, Scorecard
from suppliers.inventory import services as inventory

SYSTEM = "system"
log = logging.getLogger("gateway.fulfilment")
COLUMNS = (
    "id, tenant_id, order_id, channel_id, supplier_id, location_id, mode, pickup_location_id, status, lines, "
    "currency, retail_amount, wholesale_amount, platform_fee_amount, channel_margin_amount, delivery_fee_amount, "
    "routing, tier, eta_minutes, distance_m, promised_at, accept_by, pickup_code_hash, pickup_code, reason, "
    "replaced_by, attempt, version, created_at, updated_at, accepted_at, shipped_at, finished_at"
)
_encode = msgspec.json.Encoder().encode


# -- opening ---------------------------------------------------------------------------------------


class ShareSpec(msgspec.Struct, kw_only=True):
    """One shipment to open: where from, what, at which prices, and why there. Quotes keep
    these (JSON) until they become orders."""

    location_id: str
    supplier_id: str
    tier: str
    eta_minutes: int
    distance_km: float
    promised_at: datetime
    #: the location's local day, when it has a daily capacity to count against
    load_day: str | None
    #: [{"sku", "qty", "unit_price", "wholesale_unit", "platform_fee"}] in minor units
    lines: list[dict[str, Any]]
    routing: dict[str, Any]
    delivery_fee: int = 0
    attempt: int = 1
    #: the stock held for it while it is a quote's shipment
    reservation_ids: list[str] = []


def _pickup_hash(tenant_id: str, code: str) -> str:
    return crypto.keyring().blind_index(f"{tenant_id}:{code}", "pickup_code")


async def _new_pickup_code(tenant_id: str) -> tuple[str, str]:
    """A 6-digit code no open pickup of the tenant uses, and its blind index."""
    while True:
        code = f"{secrets.randbelow(1_000_000):06d}"
        digest = _pickup_hash(tenant_id, code)
        clash = await db().fetch(
            "SELECT 1 AS found FROM fulfilment_orders WHERE tenant_id = ? AND pickup_code_hash = ? "
            "AND status IN ('pending', 'accepted', 'picking', 'ready_for_pickup')",
            tenant_id,
            digest,
        )
        if not clash:
            return code, digest


async def open_fulfilment(
    tenant_id: str,
    order: dict[str, Any],
    specs: Sequence[ShareSpec],
    deadline_minutes: int,
    now: datetime,
) -> list[dict[str, Any]]:
    """Insert one pending fulfilment order per spec, in the caller's transaction (dispatch books
    their money in the statements journal)."""
    opened = []
    for spec in specs:
        ident = new_id("ful")
        money = [(line["qty"] * line["unit_price"], line["qty"] * line["wholesale_unit"]) for line in spec.lines]
        retail = sum(r for r, _ in money)
        wholesale = sum(w for _, w in money)
        fee = sum(line["platform_fee"] for line in spec.lines)
        code, digest = (None, None)
        if order["mode"] == "pickup":
            code, digest = await _new_pickup_code(tenant_id)
        row: dict[str, Any] = {
            "id": ident,
            "tenant_id": tenant_id,
            "order_id": order["id"],
            "channel_id": order["channel_id"],
            "supplier_id": spec.supplier_id,
            "location_id": spec.location_id,
            "mode": order["mode"],
            "pickup_location_id": (order["pickup_point_id"] or spec.location_id) if order["mode"] == "pickup" else None,
            "status": "pending",
            "lines": _encode(spec.lines).decode(),
            "currency": order["currency"],
            "retail_amount": retail,
            "wholesale_amount": wholesale,
            "platform_fee_amount": fee,
            "channel_margin_amount": retail - wholesale - fee,
            "delivery_fee_amount": spec.delivery_fee,
            "routing": _encode(spec.routing).decode(),
            "tier": spec.tier,
            "eta_minutes": spec.eta_minutes,
            "distance_m": round(spec.distance_km * 1000),
            "promised_at": spec.promised_at,
            "accept_by": now + timedelta(minutes=deadline_minutes),
            "pickup_code_hash": digest,
            "pickup_code": None
            if code is None
            else crypto.keyring().encrypt(code.encode(), crypto.row_context(tenant_id, ident, "pickup_code")),
            "reason": None,
            "replaced_by": None,
            "attempt": spec.attempt,
            "version": 1,
            "created_at": now,
            "updated_at": now,
            "accepted_at": None,
            "shipped_at": None,
            "finished_at": None,
        }
        # queued with the order's other writes (Database.write): one round trip on PostgreSQL
        await db().write(
            f"INSERT INTO fulfilment_orders ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})", *row.values()
        )
        if spec.load_day is not None:  # one per share, and an order's shares are at distinct locations
            await db().write(
                "INSERT INTO location_loads (id, tenant_id, location_id, day, orders) VALUES (?, ?, ?, ?, 1) "
                "ON CONFLICT (id) DO UPDATE SET orders = location_loads.orders + 1",
                f"{spec.location_id}:{spec.load_day}",
                tenant_id,
                spec.location_id,
                spec.load_day,
            )
        await emit(
            tenant_id,
            "fulfilment_order.created",
            {"id": ident, "order_id": order["id"], "location_id": spec.location_id, "status": "pending"},
            supplier_id=spec.supplier_id,
            channel_id=order["channel_id"],  # the channel follows its order's shares from their start
        )
        opened.append(row)
    return opened


# -- reading ----------------------------------------------------------------------------------------

_JOINED = (
    f"SELECT {', '.join('f.' + c.strip() for c in COLUMNS.split(','))}, o.destination AS order_destination, "
    "o.customer AS order_customer FROM fulfilment_orders f JOIN orders o ON o.tenant_id = f.tenant_id AND o.id = f.order_id"
)


def to_out(row: dict[str, Any], audience: str) -> FulfilmentOrderOut:
    """`audience` is supplier, channel or operator: the supplier sees where to deliver and whom
    to while the order is open, never the pickup code; the channel sees the code."""
    currency = row["currency"]
    lines = [
        {
            "sku": line["sku"],
            "qty": line["qty"],
            "unit_price": {"amount": line["unit_price"], "currency": currency},
            "wholesale_price": {"amount": line["wholesale_unit"], "currency": currency},
        }
        for line in _decoded(row["lines"])
    ]
    open_ = row["status"] in ("pending", "accepted", "picking", "shipped", "ready_for_pickup")
    customer = None
    if audience != "channel" and open_ and row.get("order_customer"):
        customer = crypto.keyring().decrypt_json(
            row["order_customer"], crypto.row_context(row["tenant_id"], row["order_id"], "customer")
        )
    code = None
    if (
        audience != "supplier"
        and row["pickup_code"]
        and row["status"] in ("pending", "accepted", "picking", "ready_for_pickup")
    ):
        code = (
            crypto.keyring()
            .decrypt(row["pickup_code"], crypto.row_context(row["tenant_id"], row["id"], "pickup_code"))
            .decode()
        )
    return msgspec.convert(
        {
            "id": row["id"],
            "order_id": row["order_id"],
            "supplier_id": row["supplier_id"],
            "location_id": row["location_id"],
            "mode": row["mode"],
            "pickup_location_id": row["pickup_location_id"],
            "status": row["status"],
            "lines": lines,
            "delivery_fee": {"amount": row["delivery_fee_amount"], "currency": currency},
            "tier": row["tier"],
            "eta_minutes": row["eta_minutes"],
            "distance_km": row["distance_m"] / 1000,
            "promised_at": row["promised_at"],
            "accept_by": row["accept_by"],
            "routing": _decoded(row["routing"]),
            "reason": row["reason"],
            "replaced_by": row["replaced_by"],
            "attempt": row["attempt"],
            "destination": _decoded(row["order_destination"])
            if audience != "channel" and "order_destination" in row
            else None,
            "customer": customer,
            "pickup_code": code,
            "version": row["version"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
            "accepted_at": row["accepted_at"],
            "shipped_at": row["shipped_at"],
            "finished_at": row["finished_at"],
        },
        FulfilmentOrderOut,
    )


def audience_of(principal: Principal) -> str:
    return principal.type


def _visible(principal: Principal) -> tuple[str, list[Any]]:
    if principal.type == "supplier":
        return " AND f.supplier_id = ?", [principal.owner_id]
    if principal.type == "channel":
        return " AND f.channel_id = ?", [principal.owner_id]
    return "", []


async def of_orders(tenant_id: str, order_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Fulfilment orders by order id, oldest first."""
    found: dict[str, list[dict[str, Any]]] = {order_id: [] for order_id in order_ids}
    for start in range(0, len(order_ids), 500):
        chunk = order_ids[start : start + 500]
        rows = await db().fetch(
            # no ORDER BY: SQLite would walk the (tenant_id, id) index to avoid a sort, scanning
            # every fulfilment order of the tenant; a handful of rows sort faster here
            f"SELECT {COLUMNS} FROM fulfilment_orders WHERE tenant_id = ? AND order_id IN ({', '.join('?' for _ in chunk)})",
            tenant_id,
            *chunk,
        )
        for row in sorted(rows, key=lambda row: row["id"]):
            found[row["order_id"]].append(row)
    return found


async def get(principal: Principal, fulfilment_id: str) -> FulfilmentOrderOut:
    extra, args = _visible(principal)
    rows = await db().fetch(
        f"{_JOINED} WHERE f.tenant_id = ? AND f.id = ?{extra}", principal.tenant_id, fulfilment_id, *args
    )
    if not rows:
        raise not_found("fulfilment order", fulfilment_id)
    return to_out(rows[0], audience_of(principal))


async def list_(
    principal: Principal,
    limit: int,
    after: str | None,
    status: str | None,
    location_id: str | None,
    order_id: str | None,
    supplier_id: str | None,
) -> FulfilmentOrderPage:
    extra, args = _visible(principal)
    for column, value in (
        ("status", status),
        ("location_id", location_id),
        ("order_id", order_id),
        ("supplier_id", supplier_id),
    ):
        if value is not None:
            extra += f" AND f.{column} = ?"
            args.append(value)
    if after is not None:
        extra += " AND f.id > ?"
        args.append(after)
    rows = await db().fetch(
        f"{_JOINED} WHERE f.tenant_id = ?{extra} ORDER BY f.id LIMIT ?", principal.tenant_id, *args, limit + 1
    )
    return make_page(FulfilmentOrderPage, rows, limit, lambda row: to_out(row, audience_of(principal)))


# -- transitions -----------------------------------------------------------------------------------


async def _score(tenant_id: str, supplier_id: str, **increments: int) -> None:
    columns = ("accepted", "acceptance_seconds", "rejected", "finished", "perfect")
    values = [increments.get(column, 0) for column in columns]
    await db().fetch(
        f"INSERT INTO supplier_scores (id, tenant_id, received, {', '.join(columns)}, updated_at) "
        f"VALUES (?, ?, 0, {', '.join('?' for _ in columns)}, ?) ON CONFLICT (id) DO UPDATE SET "
        + ", ".join(f"{column} = supplier_scores.{column} + excluded.{column}" for column in columns)
        + ", updated_at = excluded.updated_at",
        supplier_id,
        tenant_id,
        *values,
        utcnow(),
    )


async def _ledger(row: dict[str, Any], effect: str, actor: str) -> None:
    operation = {"ship": inventory.ship, "cancel": inventory.cancel, "restock": inventory.restock}[effect]
    for line in sorted(_decoded(row["lines"]), key=lambda line: line["sku"]):
        level = await operation(row["tenant_id"], row["location_id"], line["sku"], line["qty"], actor, row["id"])
        if level is None:  # the order's units and the ledger disagree: never silently
            raise RuntimeError(f"fulfilment order {row['id']}: ledger refused {effect} of {line['sku']}")


async def transition(
    tenant_id: str,
    fulfilment_id: str,
    action: str,
    actor: str,
    reason: str | None = None,
    scope: tuple[str, list[Any]] = ("", []),
) -> dict[str, Any]:
    """Move one fulfilment order by `action`, in the caller's transaction; 404 / 409 problems."""
    extra, args = scope
    rows = await db().fetch(
        f"SELECT {COLUMNS} FROM fulfilment_orders f WHERE tenant_id = ? AND id = ?{extra}",
        tenant_id,
        fulfilment_id,
        *args,
    )
    if not rows:
        raise not_found("fulfilment order", fulfilment_id)
    current = rows[0]
    try:
        target = states.next_status(action, current["status"], current["mode"])
    except states.InvalidTransition as error:
        raise conflict(str(error), slug="invalid-transition") from None
    allowed, _, _ = states.TRANSITIONS[action]
    now = utcnow()
    stamps = {"accepted": "accepted_at", "shipped": "shipped_at", "ready_for_pickup": "shipped_at"}
    extra_set = ""
    extra_args: list[Any] = []
    if target in stamps:
        extra_set += f", {stamps[target]} = ?"
        extra_args.append(now)
    if target in states.FINISHED or target in ("cancelled", "rejected"):
        extra_set += ", finished_at = ?"
        extra_args.append(now)
    if reason is not None:
        extra_set += ", reason = ?"
        extra_args.append(reason)
    moved = await db().fetch(
        f"UPDATE fulfilment_orders SET status = ?, version = version + 1, updated_at = ?{extra_set} "
        f"WHERE tenant_id = ? AND id = ? AND status IN ({', '.join('?' for _ in allowed)}) RETURNING {COLUMNS}",
        target,
        now,
        *extra_args,
        tenant_id,
        fulfilment_id,
        *sorted(allowed),
    )
    if not moved:  # someone moved it between our read and write
        raise conflict(
            f"fulfilment order {fulfilment_id} changed while this request ran: read it again", slug="invalid-transition"
        )
    row = moved[0]
    if target in states.LEDGER:
        await _ledger(row, states.LEDGER[target], actor)
    supplier = row["supplier_id"]
    if target == "accepted":
        await _score(
            tenant_id, supplier, accepted=1, acceptance_seconds=int((now - _aware(row["created_at"])).total_seconds())
        )
    elif target == "rejected":
        await _score(tenant_id, supplier, rejected=1)
    elif target in states.FINISHED:
        on_time = now <= _aware(row["promised_at"])
        await _score(tenant_id, supplier, finished=1, perfect=1 if on_time else 0)
    elif target == "cancelled" and current["status"] != "pending":
        await _score(tenant_id, supplier, finished=1)
    await emit(
        tenant_id,
        f"fulfilment_order.{target}",
        {"id": fulfilment_id, "order_id": row["order_id"], "status": target, "reason": reason},
        supplier_id=supplier,
        channel_id=row["channel_id"],
    )
    return row


def _supplier_scope(principal: Principal) -> tuple[str, list[Any]]:
    if principal.type == "supplier":
        return " AND supplier_id = ?", [principal.owner_id]
    return "", []


async def act(principal: Principal, fulfilment_id: str, action: str) -> FulfilmentOrderOut:
    """accept, pick, ship, ready_for_pickup, deliver: the fulfilling supplier (or the operator)."""
    async with db().transaction():
        row = await transition(
            principal.tenant_id, fulfilment_id, action, principal.key_id, scope=_supplier_scope(principal)
        )
        await hooks.dispatcher().settle(principal.tenant_id, row["order_id"])
    return await get(principal, fulfilment_id)


async def reject(principal: Principal, fulfilment_id: str, reason: str) -> FulfilmentOrderOut:
    await reroute(principal.tenant_id, fulfilment_id, reason, principal.key_id, scope=_supplier_scope(principal))
    return await get(principal, fulfilment_id)


async def reroute(
    tenant_id: str, fulfilment_id: str, reason: str, actor: str, scope: tuple[str, list[Any]] = ("", [])
) -> list[dict[str, Any]]:
    """Reject a share and send it to the next best candidate (dispatch decides where): its
    stock released here, committed there, in one transaction. Returns the new fulfilment
    orders (none when nowhere can fill it)."""
    return await hooks.dispatcher().reroute(tenant_id, fulfilment_id, reason, actor, scope)


async def mark_replaced(tenant_id: str, fulfilment_id: str, replaced_by: str) -> None:
    """A rejected share points at the share that took its lines over (re-routing)."""
    await db().fetch(
        "UPDATE fulfilment_orders SET replaced_by = ? WHERE tenant_id = ? AND id = ?",
        replaced_by,
        tenant_id,
        fulfilment_id,
    )


async def order_shares(tenant_id: str, order_id: str) -> list[dict[str, Any]]:
    """The id, status and replacement of every share of an order, in id order."""
    return await db().fetch(
        "SELECT id, status, replaced_by FROM fulfilment_orders WHERE tenant_id = ? AND order_id = ? ORDER BY id",
        tenant_id,
        order_id,
    )


async def expire_acceptance(limit: int = 100) -> int:
    """Re-route every pending fulfilment order past its acceptance deadline (all tenants)."""
    rows = await db().fetch(
        "SELECT tenant_id, id FROM fulfilment_orders WHERE status = 'pending' AND accept_by < ? ORDER BY accept_by LIMIT ?",
        utcnow(),
        limit,
    )
    moved = 0
    for row in rows:
        try:
            await reroute(row["tenant_id"], row["id"], "acceptance deadline missed", SYSTEM)
            moved += 1
        except ProblemError:  # accepted or re-routed meanwhile by another process
            continue
        except Exception:  # one broken order must not stop the others' re-routing
            log.exception("re-routing fulfilment order %s failed", row["id"])
    return moved


# -- pickups ----------------------------------------------------------------------------------------


async def verify_pickup(principal: Principal, code: str) -> FulfilmentOrderOut:
    """The consumer shows its code at the pickup place: the order is handed over. Codes are
    unique among the tenant's open pickups; the fulfilling supplier and the pickup point's
    supplier may verify."""
    extra, args = "", []
    if principal.type == "supplier":
        extra += " AND (f.supplier_id = ? OR p.supplier_id = ?)"
        args += [principal.owner_id, principal.owner_id]
    rows = await db().fetch(
        "SELECT f.id FROM fulfilment_orders f LEFT JOIN locations p ON p.tenant_id = f.tenant_id AND p.id = f.pickup_location_id "
        f"WHERE f.tenant_id = ? AND f.pickup_code_hash = ? AND f.status = 'ready_for_pickup'{extra}",
        principal.tenant_id,
        _pickup_hash(principal.tenant_id, code),
        *args,
    )
    if not rows:
        raise ProblemError(
            404, "No order is ready for pickup with this code here", slug="unknown-pickup-code", errors=[]
        )
    fulfilment_id = rows[0]["id"]
    async with db().transaction():
        row = await transition(principal.tenant_id, fulfilment_id, "pick_up", principal.key_id)
        await hooks.dispatcher().settle(principal.tenant_id, row["order_id"])
    return await get_for_operator(principal.tenant_id, fulfilment_id, audience_of(principal))


async def get_for_operator(tenant_id: str, fulfilment_id: str, audience: str) -> FulfilmentOrderOut:
    rows = await db().fetch(f"{_JOINED} WHERE f.tenant_id = ? AND f.id = ?", tenant_id, fulfilment_id)
    return to_out(rows[0], audience)


# -- scorecard -------------------------------------------------------------------------------------


async def scorecard(principal: Principal, supplier_id: str) -> Scorecard:
    if principal.type == "supplier" and principal.owner_id != supplier_id:
        raise not_found("supplier", supplier_id)
    if principal.type == "channel":
        raise not_found("supplier", supplier_id)
    exists = await db().fetch(
        "SELECT id FROM suppliers WHERE tenant_id = ? AND id = ?", principal.tenant_id, supplier_id
    )
    if not exists:
        raise not_found("supplier", supplier_id)
    received = await db().fetch(
        "SELECT COUNT(*) AS n FROM fulfilment_orders WHERE tenant_id = ? AND supplier_id = ?",
        principal.tenant_id,
        supplier_id,
    )
    rows = await db().fetch(
        "SELECT accepted, acceptance_seconds, rejected, finished, perfect FROM supplier_scores WHERE tenant_id = ? AND id = ?",
        principal.tenant_id,
        supplier_id,
    )
    score = rows[0] if rows else {"accepted": 0, "acceptance_seconds": 0, "rejected": 0, "finished": 0, "perfect": 0}
    return Scorecard(
        supplier_id=supplier_id,
        received=received[0]["n"],
        accepted=score["accepted"],
        rejected=score["rejected"],
        finished=score["finished"],
        perfect=score["perfect"],
        perfect_order_rate=score["perfect"] / score["finished"] if score["finished"] else None,
        mean_acceptance_seconds=score["acceptance_seconds"] / score["accepted"] if score["accepted"] else None,
        routing_reliability=scores.reliability(score["perfect"], score["finished"]),
    )
