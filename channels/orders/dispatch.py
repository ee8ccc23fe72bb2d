"""Dispatch: the one owner of placing an order and of sending a rejected share elsewhere.

Both paths are the same four steps, in one transaction: **plan** (`decide`, the only place an
order's lines meet routing), **take** the stock (`suppliers.inventory`, which orders its own
locks), **open** the fulfilment orders (`suppliers.fulfilment`), **emit** the events. Only this
module writes the `orders` table (the row, its derived status, the erased customer).

Placement plans on a read of the stock, then takes every unit with conditional updates; a
take that finds fewer units than planned means another buyer won the race, so the
transaction rolls back and the order is planned again on fresh stock. Nothing is ever taken
for an order that is then refused.

Fulfilment keeps its state machine; it tells dispatch that a share moved or was rejected
through `suppliers.fulfilment.hooks`, which `channels/__init__.py` points at `settle` and
`reroute` here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec

from channels.insight import demand
from channels.orders import pricing
from channels.orders.schemas import Customer, LineIn, OrderCreate
from channels.routing import core
from channels.routing import services as routing
from channels.routing.promise import TIERS, local_day
from channels.statements import journal
from gateway import crypto, metrics
from gateway.clock import utcnow
from gateway.events.services import emit
from gateway.http.problems import FieldError, ProblemError, conflict
from gateway.ids import new_id
from gateway.records import json_value as _decoded
from gateway.storage import db
from gateway.tenancy.principal import Principal
from suppliers.fulfilment import services as fulfilment
from suppliers.fulfilment import states
from suppliers.fulfilment.services import ShareSpec
from suppliers.inventory import services as inventory
from suppliers.inventory.services import LostRace

_encode = msgspec.json.Encoder().encode
#: re-plans after losing a race for the same units
ATTEMPTS = 5
#: a take that found fewer units than planned (another sale got there first): the work re-plans
STOCK_RACES_LOST = metrics.counter(
    "stock_races_lost_total", "Stock takes that lost a race and were planned again", ["operation"]
)


def _money(amount: int, currency: str) -> dict[str, Any]:
    return {"amount": amount, "currency": currency}


# -- plan: the one routing decision ------------------------------------------------------------------


class Decision(msgspec.Struct, kw_only=True):
    plan: core.Plan
    candidates: list[core.Candidate]
    rules: list[str]
    now: datetime


async def decide(
    tenant_id: str,
    lines: Sequence[core.Line],
    prices: dict[str, routing.Offered],
    destination: routing.Destination,
    mode: str,
    pickup_point_id: str | None,
    policy: routing.Policy,
    exclude: Sequence[str] = (),
) -> Decision:
    """Where each line ships from: the candidates reaching the destination with their stock,
    ranked by the tenant's rules. Placement, quotes and re-routing all decide here."""
    now = utcnow()
    # routing reads the nearest sites first and widens only while the plan is unsettled
    decided = await routing.decide(
        tenant_id, lines, prices, destination, mode, policy, pickup_point_id=pickup_point_id, exclude=exclude, now=now
    )
    return Decision(plan=decided.plan, candidates=decided.candidates, rules=list(policy.rules), now=now)


def spec_of(
    candidate: core.Candidate, lines: list[dict[str, Any]], routing_record: dict[str, Any], now: datetime, **extra: Any
) -> ShareSpec:
    site = candidate.site
    return ShareSpec(
        location_id=site.id,
        supplier_id=site.supplier_id,
        tier=candidate.promise.tier,
        eta_minutes=candidate.promise.eta_minutes,
        distance_km=round(candidate.distance_km, 3),
        promised_at=candidate.promise.promised_at,
        load_day=local_day(site, now) if site.daily_capacity is not None else None,
        lines=lines,
        routing=routing_record,
        **extra,
    )


def explain(share: core.Share, decision: Decision, **extra: Any) -> dict[str, Any]:
    """The routing record of one shipment (DESIGN §6: rule, distance, ETA, candidates)."""
    chosen = share.candidate
    others = sorted(
        (c for c in decision.candidates if c is not chosen),
        key=lambda c: (TIERS.index(c.promise.tier), c.distance_km, c.site.id),
    )[:3]
    return {
        "rule": share.decided_by,
        "rules": decision.rules,
        "distance_km": round(chosen.distance_km, 3),
        "eta_minutes": chosen.promise.eta_minutes,
        "tier": chosen.promise.tier,
        "candidates_considered": decision.plan.considered,
        "alternatives": [
            {
                "location_id": c.site.id,
                "distance_km": round(c.distance_km, 3),
                "tier": c.promise.tier,
                "eta_minutes": c.promise.eta_minutes,
            }
            for c in others
        ],
        **extra,
    }


async def _refuse(
    tenant_id: str,
    channel_id: str,
    lines: Sequence[LineIn],
    source: str,
    decided: core.Plan,
    prices: dict[str, routing.Offered],
    destination: routing.Destination,
    mode: str,
    pickup_point_id: str | None,
    idempotency_key: str | None,
) -> None:
    """409 when the plan leaves something unfilled: `no-location` when no location serving the
    destination sells these goods at the listing price, `out-of-stock` when some do but lack
    the units now. AlreadyPlaced instead when the order's key placed an order before: the
    retry gets that order, and no refusal is recorded."""
    if not decided.unfilled:
        return
    if idempotency_key is not None and (placed := await order_with_key(tenant_id, channel_id, idempotency_key)):
        raise AlreadyPlaced(placed)
    short = ", ".join(f"{line.qty} x {line.sku}" for line in decided.unfilled)
    sold_here = await routing.sells(
        tenant_id, {line.sku: prices[line.sku] for line in decided.unfilled}, destination, mode, pickup_point_id
    )
    # replenishment advice (issue 14): the demand we could not serve, where it was
    await demand.record_refusal(
        tenant_id,
        channel_id,
        destination.lat,
        destination.lng,
        mode,
        [(line.sku, line.qty) for line in lines],
        [(line.sku, line.qty) for line in decided.unfilled],
        "out-of-stock" if sold_here else "no-location",
        source,
    )
    if not sold_here:
        raise ProblemError(
            409,
            f"No location serving this destination sells {short} at the listed price",
            slug="no-location",
        )
    raise ProblemError(409, f"Not enough stock near this destination for {short}", slug="out-of-stock")


class Routed(msgspec.Struct, kw_only=True):
    """An order's plan, priced: its shipments to open and its money."""

    specs: list[ShareSpec]
    currency: str
    lines: list[dict[str, Any]]
    subtotal: int
    delivery_fee: int
    split: pricing.LineSplit


async def plan_order(
    tenant_id: str,
    channel_id: str,
    lines: Sequence[LineIn],
    destination: routing.Destination,
    mode: str,
    pickup_point_id: str | None,
    policy: routing.Policy,
    prices: dict[str, routing.Offered],
    currency: str,
    source: str = "order",
    idempotency_key: str | None = None,
) -> Routed:
    """Decide and price a new order (or quote); 409 when it cannot be filled now."""
    decision = await decide(
        tenant_id, [core.Line(line.sku, line.qty) for line in lines], prices, destination, mode, pickup_point_id, policy
    )
    decided = decision.plan
    await _refuse(
        tenant_id, channel_id, lines, source, decided, prices, destination, mode, pickup_point_id, idempotency_key
    )
    splits: list[pricing.LineSplit] = []
    specs = []
    fees = 0
    for share in decided.shares:
        share_lines = []
        for line in share.lines:
            unit = prices[line.sku].amount
            wholesale = share.candidate.cost[line.sku]
            split = pricing.split_line(line.qty, unit, wholesale, policy.take_rate_bps)
            splits.append(split)
            share_lines.append(
                {
                    "sku": line.sku,
                    "qty": line.qty,
                    "unit_price": unit,
                    "wholesale_unit": wholesale,
                    "platform_fee": split.platform_fee,
                }
            )
        fee = policy.delivery_fees.get(share.candidate.promise.tier, 0) if mode == "delivery" else 0
        fees += fee
        specs.append(spec_of(share.candidate, share_lines, explain(share, decision), decision.now, delivery_fee=fee))
    merged = core.merge([core.Line(line.sku, line.qty) for line in lines])
    order_lines: list[dict[str, Any]] = [
        {"sku": sku, "qty": qty, "unit_price": prices[sku].amount} for sku, qty in merged.items()
    ]
    subtotal = sum(qty * prices[sku].amount for sku, qty in merged.items())
    return Routed(
        specs=specs,
        currency=currency,
        lines=order_lines,
        subtotal=subtotal,
        delivery_fee=fees,
        split=pricing.total(splits),
    )


def takes_of(specs: Sequence[ShareSpec]) -> list[inventory.Take]:
    """Every (location, sku, qty) the shipments take from the ledger."""
    return [(spec.location_id, line["sku"], line["qty"]) for spec in specs for line in spec.lines]


# -- the orders table: only dispatch writes it -----------------------------------------------------


def _customer_token(tenant_id: str, order_id: str, customer: Customer | None) -> str | None:
    if customer is None:
        return None
    data = {k: v for k, v in msgspec.structs.asdict(customer).items() if v is not None}
    return crypto.keyring().encrypt_json(data, crypto.row_context(tenant_id, order_id, "customer"))


def _order_row(
    order_id: str,
    tenant_id: str,
    channel_id: str,
    body: OrderCreate,
    mode: str,
    destination: dict[str, Any],
    pickup_point_id: str | None,
    lines: list[dict[str, Any]],
    currency: str,
    subtotal: int,
    delivery_fee: int,
    split: pricing.LineSplit,
    quote_id: str | None,
    idempotency_key: str | None,
    now: datetime,
) -> dict[str, Any]:
    return {
        "id": order_id,
        "tenant_id": tenant_id,
        "channel_id": channel_id,
        "quote_id": quote_id,
        "status": "pending",
        "mode": mode,
        "destination": _encode(destination).decode(),
        "pickup_point_id": pickup_point_id,
        "lines": _encode(lines).decode(),
        "currency": currency,
        "subtotal_amount": subtotal,
        "delivery_fee_amount": delivery_fee,
        "total_amount": subtotal + delivery_fee,
        "supplier_amount": split.wholesale + delivery_fee,
        "channel_margin_amount": split.channel_margin,
        "platform_fee_amount": split.platform_fee,
        "customer": _customer_token(tenant_id, order_id, body.customer),
        "customer_erased_at": None,
        "reference": body.reference,
        "idempotency_key": idempotency_key,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


class AlreadyPlaced(Exception):
    """The order's Idempotency-Key placed an order for its channel before (`order_id`): nothing
    of this one was written."""

    def __init__(self, order_id: str) -> None:
        super().__init__(order_id)
        self.order_id = order_id


async def order_with_key(tenant_id: str, channel_id: str, idempotency_key: str) -> str | None:
    """The id of the order an Idempotency-Key placed for the channel, if any."""
    rows = await db().fetch(
        "SELECT id FROM orders WHERE tenant_id = ? AND channel_id = ? AND idempotency_key = ?",
        tenant_id,
        channel_id,
        idempotency_key,
    )
    return str(rows[0]["id"]) if rows else None


async def _insert(row: dict[str, Any]) -> None:
    """The order's row. With an Idempotency-Key it goes first in its transaction, and the unique
    index on the key answers whether the key placed an order before (AlreadyPlaced, the
    caller's savepoint undoes the rest): a lookup would depend on a cached plan, which
    PostgreSQL keeps from when the table was small (without autovacuum nothing replaces it;
    one was seen reading every order of the channel). Without a key it waits for the order's
    other writes (`Database.write`)."""
    insert = f"INSERT INTO orders ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})"
    if row["idempotency_key"] is None:
        await db().write(insert, *row.values())
        return
    rows = await db().fetch(
        f"{insert} ON CONFLICT (tenant_id, channel_id, idempotency_key) WHERE idempotency_key IS NOT NULL "
        "DO UPDATE SET idempotency_key = excluded.idempotency_key RETURNING id",
        *row.values(),
    )
    if rows[0]["id"] != row["id"]:
        raise AlreadyPlaced(str(rows[0]["id"]))


class Placed(msgspec.Struct, frozen=True):
    """An order as placing wrote it: its row and its fulfilment orders' rows, oldest first. The
    answer to the POST is made from them, not from a read of what was just written."""

    order: dict[str, Any]
    shares: list[dict[str, Any]]


async def _open(
    row: dict[str, Any], specs: Sequence[ShareSpec], deadline_minutes: int, now: datetime, *, inserted: bool = False
) -> Placed:
    """Write the order (unless `inserted` already), open its fulfilment orders, announce it (in
    the caller's transaction)."""
    if not inserted:
        await _insert(row)
    shares = await fulfilment.open_fulfilment(row["tenant_id"], row, specs, deadline_minutes, now)
    for share in shares:
        await journal.record(share, "sale", at=now)  # statements (issue 14)
    await emit(
        row["tenant_id"],
        "order.created",
        {"id": row["id"], "status": "pending", "total": _money(row["total_amount"], row["currency"])},
        channel_id=row["channel_id"],
    )
    return Placed(order=row, shares=shares)


async def settle(tenant_id: str, order_id: str) -> str:
    """Recompute the order's status from its fulfilment orders; emit when it changed."""
    shares = await fulfilment.order_shares(tenant_id, order_id)
    status = states.order_status((row["status"], row["replaced_by"]) for row in shares)
    changed = await db().fetch(
        "UPDATE orders SET status = ?, version = version + 1, updated_at = ? WHERE tenant_id = ? AND id = ? "
        "AND status <> ? RETURNING channel_id",
        status,
        utcnow(),
        tenant_id,
        order_id,
        status,
    )
    if changed:
        await emit(
            tenant_id, f"order.{status}", {"id": order_id, "status": status}, channel_id=changed[0]["channel_id"]
        )
    return status


async def act_on_all(
    tenant_id: str, order_id: str, action: str, refuse_if: frozenset[str], why: str, actor: str
) -> None:
    """Apply `action` (cancel, return) to every fulfilment order of the order it applies to,
    atomically, with the money it reverses; 409 when one of them forbids it."""
    async with db().transaction():
        shares = await fulfilment.order_shares(tenant_id, order_id)
        allowed, _, _ = states.TRANSITIONS[action]
        blocking = [s for s in shares if s["status"] in refuse_if]
        movable = [s for s in shares if s["status"] in allowed]
        if blocking or not movable:
            statuses = ", ".join(sorted({s["status"] for s in shares}))
            raise conflict(
                f"Order {order_id} cannot be {why}: its fulfilment orders are {statuses}", slug="invalid-transition"
            )
        for share in movable:
            row = await fulfilment.transition(tenant_id, share["id"], action, actor)
            if row["status"] in states.REVERSALS:  # statements (issue 14): the share's money goes back
                await journal.record(row, states.REVERSALS[row["status"]], reverse=True, at=utcnow())
        await settle(tenant_id, order_id)


async def erase_customer(tenant_id: str, order_id: str) -> None:
    """The consumer's personal data is removed for good; the order and its money stay."""
    now = utcnow()
    async with db().transaction():
        rows = await db().fetch(
            "UPDATE orders SET customer = NULL, customer_erased_at = ?, version = version + 1, updated_at = ? "
            "WHERE tenant_id = ? AND id = ? AND customer_erased_at IS NULL RETURNING channel_id",
            now,
            now,
            tenant_id,
            order_id,
        )
        if rows:
            await emit(tenant_id, "order.customer_erased", {"id": order_id}, channel_id=rows[0]["channel_id"])


# -- placing ----------------------------------------------------------------------------------------


async def place_direct(
    principal: Principal,
    channel_id: str,
    body: OrderCreate,
    lines: Sequence[LineIn],
    mode: str,
    destination: routing.Destination,
    prices: dict[str, routing.Offered],
    currency: str,
    policy: routing.Policy,
    idempotency_key: str | None,
) -> Placed:
    """An order without a quote: plan, take from `available`, open, announce."""
    tenant_id = principal.tenant_id
    for _ in range(ATTEMPTS):
        routed = await plan_order(
            tenant_id,
            channel_id,
            lines,
            destination,
            mode,
            body.pickup_point_id,
            policy,
            prices,
            currency,
            idempotency_key=idempotency_key,
        )
        order_id = new_id("ord")
        now = utcnow()
        row = _order_row(
            order_id,
            tenant_id,
            channel_id,
            body,
            mode,
            {"lat": destination.lat, "lng": destination.lng},
            body.pickup_point_id,
            routed.lines,
            currency,
            routed.subtotal,
            routed.delivery_fee,
            routed.split,
            None,
            idempotency_key,
            now,
        )
        try:
            async with db().transaction():
                keyed = idempotency_key is not None
                if keyed:  # before the take: a key that placed an order before takes nothing
                    await _insert(row)
                await inventory.take_committed(tenant_id, takes_of(routed.specs), principal.key_id)
                return await _open(row, routed.specs, policy.acceptance_deadline_minutes, now, inserted=keyed)
        except LostRace:
            STOCK_RACES_LOST.labels("order").inc()
            continue
    raise ProblemError(
        409, "Stock near this destination kept selling out while ordering; try again", slug="out-of-stock"
    )


class Held(msgspec.Struct, frozen=True):
    """What holds an order's stock: a quote, or a storefront cart (which is a quote with a
    client secret), named as the caller named it, so that every refusal speaks its words."""

    kind: str  # "quote" or "cart"
    id: str
    quote_id: str

    @property
    def field(self) -> str:
        return f"{self.kind}_id"

    @property
    def again(self) -> str:
        return "quote again" if self.kind == "quote" else "create a new cart"


async def place_from_quote(
    principal: Principal,
    channel_id: str,
    body: OrderCreate,
    idempotency_key: str | None,
    held: Held,
    quote: dict[str, Any],
    policy: routing.Policy,
) -> Placed:
    """An order from an open quote (checked by the caller): claim the quote, turn its held
    stock into committed stock, open, announce."""
    tenant_id = principal.tenant_id
    now = utcnow()
    specs = msgspec.convert(_decoded(quote["shipments"]), list[ShareSpec])
    order_id = new_id("ord")
    lines = _decoded(quote["lines"])
    splits = [
        pricing.LineSplit(
            retail=line["qty"] * line["unit_price"],
            wholesale=line["qty"] * line["wholesale_unit"],
            platform_fee=line["platform_fee"],
            channel_margin=line["qty"] * line["unit_price"]
            - line["qty"] * line["wholesale_unit"]
            - line["platform_fee"],
        )
        for spec in specs
        for line in spec.lines
    ]
    row = _order_row(
        order_id,
        tenant_id,
        channel_id,
        body,
        quote["mode"],
        _decoded(quote["destination"]),
        quote["pickup_point_id"],
        lines,
        quote["currency"],
        quote["subtotal_amount"],
        quote["delivery_fee_amount"],
        pricing.total(splits),
        quote["id"],
        idempotency_key,
        now,
    )
    async with db().transaction():
        claimed = await db().fetch(
            "UPDATE quotes SET status = 'ordered', order_id = ? WHERE tenant_id = ? AND id = ? AND status = 'open' RETURNING id",
            order_id,
            tenant_id,
            quote["id"],
        )
        if not claimed:
            raise conflict(
                f"{held.kind.title()} {held.id} was used or released meanwhile: {held.again}",
                slug=f"{held.kind}-closed",
            )
        reservation_ids = [r for spec in specs for r in spec.reservation_ids]
        if not await inventory.commit_all(tenant_id, reservation_ids, principal.key_id):
            # expired by the sweep between our check and now: give nothing, keep nothing
            raise ProblemError(
                409,
                f"{held.kind.title()} {held.id} expired: {held.again}",
                slug=f"{held.kind}-expired",
                errors=[FieldError(field=held.field, message=f"{held.kind} expired")],
            )
        return await _open(row, specs, policy.acceptance_deadline_minutes, now)


# -- re-routing ---------------------------------------------------------------------------------------


def _prorated_fee(line: dict[str, Any], qty: int) -> int:
    """The platform fee of `qty` units of a line whose fee was fixed when the order was placed."""
    if qty == line["qty"]:
        return int(line["platform_fee"])
    return int(line["platform_fee"]) * qty // line["qty"]


async def reroute(
    tenant_id: str, fulfilment_id: str, reason: str, actor: str, scope: tuple[str, list[Any]] = ("", [])
) -> list[dict[str, Any]]:
    """Reject a share and send it to the next best candidate: its stock released here, committed
    there, in one transaction. Returns the new fulfilment orders (none when nowhere can fill it)."""
    for _ in range(ATTEMPTS):
        try:
            async with db().transaction():
                return await _reroute_once(tenant_id, fulfilment_id, reason, actor, scope)
        except LostRace:
            STOCK_RACES_LOST.labels("reroute").inc()
            continue
    raise conflict(
        f"fulfilment order {fulfilment_id}: stock kept moving while re-routing; try again", slug="contention"
    )


async def _reroute_once(
    tenant_id: str, fulfilment_id: str, reason: str, actor: str, scope: tuple[str, list[Any]]
) -> list[dict[str, Any]]:
    old = await fulfilment.transition(tenant_id, fulfilment_id, "reject", actor, reason, scope)
    orders = await db().fetch(
        "SELECT id, channel_id, mode, destination, pickup_point_id, currency FROM orders WHERE tenant_id = ? AND id = ?",
        tenant_id,
        old["order_id"],
    )
    order = orders[0]
    policy = await routing.policy_of(tenant_id)
    excluded = sorted({*_decoded(old["routing"]).get("excluded", []), old["location_id"]})
    lines = _decoded(old["lines"])
    prices = {line["sku"]: routing.Offered(amount=line["unit_price"], currency=order["currency"]) for line in lines}
    destination = _decoded(order["destination"])
    decision = await decide(
        tenant_id,
        [core.Line(line["sku"], line["qty"]) for line in lines],
        prices,
        routing.Destination(lat=destination["lat"], lng=destination["lng"]),
        order["mode"],
        order["pickup_point_id"],
        policy,
        exclude=excluded,
    )
    decided = decision.plan
    if decided.unfilled or not decided.shares:
        await journal.record(old, "unfilled", reverse=True)  # statements (issue 14): refunded
        await demand.record_refusal(  # replenishment advice (issue 14): demand nobody could serve
            tenant_id,
            order["channel_id"],
            destination["lat"],
            destination["lng"],
            order["mode"],
            [(line["sku"], line["qty"]) for line in lines],
            [(line.sku, line.qty) for line in decided.unfilled] or [(line["sku"], line["qty"]) for line in lines],
            "out-of-stock",
            "reroute",
        )
        await emit(
            tenant_id,
            "fulfilment_order.unroutable",
            {"id": fulfilment_id, "order_id": order["id"], "excluded": excluded},
            channel_id=order["channel_id"],
        )
        await settle(tenant_id, order["id"])
        return []
    unit = {line["sku"]: line for line in lines}
    specs = [
        spec_of(
            share.candidate,
            [
                {
                    "sku": line.sku,
                    "qty": line.qty,
                    "unit_price": unit[line.sku]["unit_price"],
                    "wholesale_unit": share.candidate.cost[line.sku],
                    "platform_fee": _prorated_fee(unit[line.sku], line.qty),
                }
                for line in share.lines
            ],
            explain(share, decision, replaces=fulfilment_id, excluded=excluded),
            decision.now,
            delivery_fee=old["delivery_fee_amount"] if share is decided.shares[0] else 0,
            attempt=old["attempt"] + 1,
        )
        for share in decided.shares
    ]
    await inventory.take_committed(tenant_id, takes_of(specs), actor)
    await journal.record(old, "reroute", reverse=True, at=decision.now)  # statements (issue 14): moves on
    opened = await fulfilment.open_fulfilment(tenant_id, order, specs, policy.acceptance_deadline_minutes, decision.now)
    for share in opened:
        await journal.record(share, "reroute", at=decision.now)
    await fulfilment.mark_replaced(tenant_id, fulfilment_id, opened[0]["id"])
    await settle(tenant_id, order["id"])
    return opened
