"""Quotes and orders (DESIGN §7): price at the channel's listings, route (channels.routing),
take the stock (suppliers.inventory), open fulfilment orders (suppliers.fulfilment).

Placement plans on a read of the stock, then takes every unit with conditional updates in
one transaction, in (location, sku) order; a take that finds fewer units than planned means
another buyer won the race, so the whole transaction rolls back and the order is planned
again on fresh stock. Nothing is ever taken for an order that is then refused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import msgspec

from channels.insight import demand
from channels.listings.services import listed_prices
from channels.orders import pricing
from channels.orders.schemas import (
    Customer,
    Destination,
    LineIn,
    OrderCreate,
    OrderOut,
    OrderPage,
    QuoteCreate,
    QuoteOut,
)
from channels.routing import core
from channels.routing import services as routing
from channels.storefront import carts
from gateway import crypto, metrics
from gateway.clock import utcnow
from gateway.events.services import emit
from gateway.http.pagination import make_page
from gateway.http.problems import FieldError, ProblemError, conflict, not_found
from gateway.ids import new_id
from gateway.records import json_value as _decoded
from gateway.storage import db
from gateway.tenancy.principal import Principal
from suppliers.fulfilment import services as fulfilment
from suppliers.fulfilment import states
from suppliers.fulfilment.services import ATTEMPTS, LostRace, ShareSpec
from suppliers.inventory import services as inventory

_encode = msgspec.json.Encoder().encode
ORDER_COLUMNS = (
    "id, tenant_id, channel_id, quote_id, status, mode, destination, pickup_point_id, lines, currency, "
    "subtotal_amount, delivery_fee_amount, total_amount, supplier_amount, channel_margin_amount, "
    "platform_fee_amount, customer, customer_erased_at, reference, idempotency_key, version, created_at, updated_at"
)
QUOTE_COLUMNS = (
    "id, tenant_id, channel_id, mode, destination, pickup_point_id, lines, shipments, currency, subtotal_amount, "
    "delivery_fee_amount, total_amount, status, order_id, expires_at, created_at"
)


def _money(amount: int, currency: str) -> dict[str, Any]:
    return {"amount": amount, "currency": currency}


# -- who, where, at what price ------------------------------------------------------------------


async def _acting_channel(principal: Principal, channel_id: str | None) -> str:
    """A channel orders for itself; the operator names the channel; suppliers never get here."""
    if principal.type == "channel":
        if channel_id not in (None, principal.owner_id):
            raise ProblemError(
                403,
                "A channel places orders only for itself",
                errors=[FieldError(field="channel_id", message="must be your own channel id, or left out")],
            )
        assert principal.owner_id is not None
        return principal.owner_id
    if channel_id is None:
        raise ProblemError(
            403,
            "The operator orders on behalf of a channel: name it in channel_id",
            slug="channel-required",
            errors=[FieldError(field="channel_id", message="required when the operator orders")],
        )
    rows = await db().fetch(
        "SELECT status FROM channels WHERE tenant_id = ? AND id = ?", principal.tenant_id, channel_id
    )
    if not rows:
        raise ProblemError(
            404,
            f"No such channel: {channel_id}",
            slug="not-found",
            errors=[FieldError(field="channel_id", message="no such channel")],
        )
    if rows[0]["status"] != "active":
        raise conflict(f"Channel {channel_id} is inactive and places no orders", slug="channel-inactive")
    return channel_id


def _unusable(field: str, message: str) -> ProblemError:
    """A body the schema allows but that cannot mean anything (fields that exclude or need each
    other): a JSON schema cannot say it, so it is a 409 naming the field, not a 4xx of syntax."""
    return ProblemError(
        409, f"{field}: {message}", slug="unusable-request", errors=[FieldError(field=field, message=message)]
    )


def _mode(mode: str | None, pickup_point_id: str | None) -> str:
    return mode or ("pickup" if pickup_point_id is not None else "delivery")


async def where(
    tenant_id: str, destination: Destination | None, mode: str, pickup_point_id: str | None
) -> routing.Destination:
    """The point routing measures from: the destination, or the pickup point's position."""
    if pickup_point_id is not None:
        if mode != "pickup":
            raise _unusable("pickup_point_id", "a pickup point is for mode `pickup`")
        rows = await db().fetch(
            "SELECT lat, lng, kind, status, modes FROM locations WHERE tenant_id = ? AND id = ?",
            tenant_id,
            pickup_point_id,
        )
        if not rows:
            raise ProblemError(
                404,
                f"No such pickup point: {pickup_point_id}",
                slug="not-found",
                errors=[FieldError(field="pickup_point_id", message="no such location")],
            )
        point = rows[0]
        if point["status"] != "active" or "pickup" not in _decoded(point["modes"]):
            raise conflict(f"Location {pickup_point_id} does not take pickups now", slug="pickup-point-unavailable")
        return routing.Destination(lat=point["lat"], lng=point["lng"])
    if destination is None:
        raise _unusable("destination", "required: where to deliver (or a pickup_point_id for a pickup)")
    return routing.Destination(lat=destination.lat, lng=destination.lng)


async def _prices(tenant_id: str, channel_id: str, lines: Sequence[LineIn]) -> tuple[dict[str, routing.Offered], str]:
    """The channel's listing price of every line, in one currency."""
    listed = await listed_prices(tenant_id, channel_id, [line.sku for line in lines])
    missing = [index for index, line in enumerate(lines) if line.sku not in listed]
    if missing:
        raise ProblemError(
            409,
            f"The channel does not list {', '.join(sorted({lines[i].sku for i in missing}))}: create an active listing first",
            slug="not-listed",
            errors=[FieldError(field=f"lines[{i}].sku", message="not listed by this channel") for i in missing],
        )
    currencies = {listed[line.sku].currency for line in lines}
    if len(currencies) > 1:
        raise ProblemError(
            409,
            f"The lines are listed in several currencies ({', '.join(sorted(currencies))}): one order, one currency",
            slug="currency-mismatch",
            errors=[FieldError(field="lines", message="listed in more than one currency")],
        )
    prices = {sku: routing.Offered(amount=price.amount, currency=price.currency) for sku, price in listed.items()}
    return prices, currencies.pop()


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
) -> None:
    """409 when the plan leaves something unfilled: `no-location` when no location serving the
    destination sells these goods at the listing price, `out-of-stock` when some do but lack
    the units now."""
    if not decided.unfilled:
        return
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
    specs: list[ShareSpec]
    currency: str
    lines: list[dict[str, Any]]
    subtotal: int
    delivery_fee: int
    split: pricing.LineSplit


async def _route(
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
) -> Routed:
    now = utcnow()
    decision = await routing.decide(
        tenant_id,
        [core.Line(line.sku, line.qty) for line in lines],
        prices,
        destination,
        mode,
        policy,
        pickup_point_id=pickup_point_id,
        now=now,
    )
    decided, found = decision.plan, decision.candidates
    await _refuse(tenant_id, channel_id, lines, source, decided, prices, destination, mode, pickup_point_id)
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
        specs.append(
            ShareSpec.of(
                share.candidate,
                share_lines,
                fulfilment.explain(share, decided, found, policy.rules),
                now,
                delivery_fee=fee,
            )
        )
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


def _lines_out(lines: list[dict[str, Any]], currency: str) -> list[dict[str, Any]]:
    return [
        {
            "sku": line["sku"],
            "qty": line["qty"],
            "unit_price": _money(line["unit_price"], currency),
            "amount": _money(line["qty"] * line["unit_price"], currency),
        }
        for line in lines
    ]


# -- quotes ------------------------------------------------------------------------------------------


def quote_out(row: dict[str, Any], now: datetime | None = None) -> QuoteOut:
    currency = row["currency"]
    expires_at = row["expires_at"]
    status = row["status"]
    if status == "open" and _aware(expires_at) <= (now or utcnow()):
        status = "expired"
    shipments = [
        {
            "location_id": spec["location_id"],
            "supplier_id": spec["supplier_id"],
            "lines": [{"sku": line["sku"], "qty": line["qty"]} for line in spec["lines"]],
            "tier": spec["tier"],
            "eta_minutes": spec["eta_minutes"],
            "distance_km": spec["distance_km"],
            "promised_at": spec["promised_at"],
            "fee": _money(spec.get("delivery_fee", 0), currency),
        }
        for spec in _decoded(row["shipments"])
    ]
    return msgspec.convert(
        {
            "id": row["id"],
            "channel_id": row["channel_id"],
            "status": status,
            "mode": row["mode"],
            "destination": _decoded(row["destination"]),
            "pickup_point_id": row["pickup_point_id"],
            "lines": _lines_out(_decoded(row["lines"]), currency),
            "subtotal": _money(row["subtotal_amount"], currency),
            "delivery_fee": _money(row["delivery_fee_amount"], currency),
            "total": _money(row["total_amount"], currency),
            "shipments": shipments,
            "expires_at": expires_at,
            "order_id": row["order_id"],
            "created_at": row["created_at"],
        },
        QuoteOut,
    )


def _aware(value: Any) -> datetime:
    return fulfilment._aware(value)


async def create_quote(
    principal: Principal,
    body: QuoteCreate,
    *,
    ttl: timedelta | None = None,
    within: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
) -> QuoteOut:
    """Price, route and hold the stock until `expires_at` (the policy's quote TTL, or `ttl`).

    `within(row)` runs inside the quote's transaction once the stock is held and the quote
    written: what builds on a quote (a storefront cart) writes its own row there, and may
    still refuse (raise), which gives every unit back."""
    tenant_id = principal.tenant_id
    channel_id = await _acting_channel(principal, body.channel_id)
    mode = _mode(body.mode, body.pickup_point_id)
    destination = await where(tenant_id, body.destination, mode, body.pickup_point_id)
    prices, currency = await _prices(tenant_id, channel_id, body.lines)
    policy = await routing.policy_of(tenant_id)
    ttl = ttl or timedelta(seconds=policy.quote_ttl_seconds)
    for _ in range(ATTEMPTS):
        routed = await _route(
            tenant_id,
            channel_id,
            body.lines,
            destination,
            mode,
            body.pickup_point_id,
            policy,
            prices,
            currency,
            "quote",
        )
        quote_id = new_id("quo")
        now = utcnow()
        try:
            async with db().transaction():
                held: dict[tuple[str, str], str] = {}
                for location_id, sku, qty in sorted(
                    (spec.location_id, line["sku"], line["qty"]) for spec in routed.specs for line in spec.lines
                ):
                    reservation = await inventory.reserve(
                        tenant_id, location_id, sku, qty, ttl, principal.key_id, quote_id
                    )
                    if reservation is None:
                        raise LostRace(location_id, sku)
                    held[(location_id, sku)] = reservation["id"]
                for spec in routed.specs:
                    spec.reservation_ids = [held[(spec.location_id, line["sku"])] for line in spec.lines]
                row = {
                    "id": quote_id,
                    "tenant_id": tenant_id,
                    "channel_id": channel_id,
                    "mode": mode,
                    "destination": _encode({"lat": destination.lat, "lng": destination.lng}).decode(),
                    "pickup_point_id": body.pickup_point_id,
                    "lines": _encode(routed.lines).decode(),
                    "shipments": _encode(routed.specs).decode(),
                    "currency": currency,
                    "subtotal_amount": routed.subtotal,
                    "delivery_fee_amount": routed.delivery_fee,
                    "total_amount": routed.subtotal + routed.delivery_fee,
                    "status": "open",
                    "order_id": None,
                    "expires_at": now + ttl,
                    "created_at": now,
                }
                await db().fetch(
                    f"INSERT INTO quotes ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})", *row.values()
                )
                if within is not None:
                    await within(row)
            return quote_out(row, now)
        except LostRace:
            fulfilment.STOCK_RACES_LOST.labels("quote").inc()
            continue
    raise ProblemError(
        409, "Stock near this destination kept selling out while quoting; try again", slug="out-of-stock"
    )


async def _quote_row(principal: Principal, quote_id: str) -> dict[str, Any]:
    extra, args = ("", []) if principal.type == "operator" else (" AND channel_id = ?", [principal.owner_id])
    rows = await db().fetch(
        f"SELECT {QUOTE_COLUMNS} FROM quotes WHERE tenant_id = ? AND id = ?{extra}",
        principal.tenant_id,
        quote_id,
        *args,
    )
    if not rows:
        raise not_found("quote", quote_id)
    return rows[0]


async def list_quotes(
    principal: Principal, limit: int, after: str | None, channel_id: str | None
) -> list[dict[str, Any]]:
    extra, args = ("", []) if principal.type == "operator" else (" AND channel_id = ?", [principal.owner_id])
    if channel_id is not None:
        extra += " AND channel_id = ?"
        args.append(channel_id)
    if after is not None:
        extra += " AND id > ?"
        args.append(after)
    return await db().fetch(
        f"SELECT {QUOTE_COLUMNS} FROM quotes WHERE tenant_id = ?{extra} ORDER BY id LIMIT ?",
        principal.tenant_id,
        *args,
        limit + 1,
    )


async def quotes_by_id(tenant_id: str, quote_ids: Sequence[str]) -> dict[str, QuoteOut]:
    """Quotes of a tenant by id, in one statement (what builds on quotes lists many at once)."""
    if not quote_ids:
        return {}
    rows = await db().fetch(
        f"SELECT {QUOTE_COLUMNS} FROM quotes WHERE tenant_id = ? AND id IN ({', '.join('?' for _ in quote_ids)})",
        tenant_id,
        *quote_ids,
    )
    now = utcnow()
    return {row["id"]: quote_out(row, now) for row in rows}


async def get_quote(principal: Principal, quote_id: str) -> QuoteOut:
    return quote_out(await _quote_row(principal, quote_id))


async def release_quote(principal: Principal, quote_id: str) -> QuoteOut:
    """Give the held stock back before the quote expires (the consumer left)."""
    row = await _quote_row(principal, quote_id)
    async with db().transaction():
        moved = await db().fetch(
            f"UPDATE quotes SET status = 'released' WHERE tenant_id = ? AND id = ? AND status = 'open' RETURNING {QUOTE_COLUMNS}",
            principal.tenant_id,
            quote_id,
        )
        if not moved:
            raise conflict(f"Quote {quote_id} is {quote_out(row).status}: nothing to release", slug="quote-closed")
        for spec in _decoded(row["shipments"]):
            for reservation_id in spec.get("reservation_ids", []):
                await inventory.release(principal.tenant_id, reservation_id, principal.key_id)
    return quote_out(moved[0])


# -- orders ------------------------------------------------------------------------------------------


def _customer_token(tenant_id: str, order_id: str, customer: Customer | None) -> str | None:
    if customer is None:
        return None
    data = {k: v for k, v in msgspec.structs.asdict(customer).items() if v is not None}
    return crypto.keyring().encrypt_json(data, crypto.row_context(tenant_id, order_id, "customer"))


async def _existing(principal: Principal, channel_id: str, idempotency_key: str | None) -> OrderOut | None:
    """The order a retried request already made (a crash between the order's commit and the
    idempotency record's would otherwise let the retry place a second order)."""
    if idempotency_key is None:
        return None
    rows = await db().fetch(
        "SELECT id FROM orders WHERE tenant_id = ? AND channel_id = ? AND idempotency_key = ?",
        principal.tenant_id,
        channel_id,
        idempotency_key,
    )
    return await get(principal, rows[0]["id"]) if rows else None


ORDERS_PLACED = metrics.counter("orders_placed_total", "Orders placed, from a quote, a cart or direct", ["source"])
ORDERS_REFUSED = metrics.counter("orders_refused_total", "Orders refused, by the problem type's slug", ["reason"])


async def place(principal: Principal, body: OrderCreate, idempotency_key: str | None) -> OrderOut:
    """Place an order (counted in the metrics: placed by source, refused by reason)."""
    try:
        channel_id = await _acting_channel(principal, body.channel_id)
        if (done := await _existing(principal, channel_id, idempotency_key)) is not None:
            return done
        placed = await _place(principal, channel_id, body, idempotency_key)
    except ProblemError as refused:
        ORDERS_REFUSED.labels(refused.slug).inc()
        raise
    source = "cart" if body.cart_id is not None else "quote" if body.quote_id is not None else "direct"
    ORDERS_PLACED.labels(source).inc()
    return placed


async def _place(principal: Principal, channel_id: str, body: OrderCreate, idempotency_key: str | None) -> OrderOut:
    if body.cart_id is not None:
        for name in ("quote_id", "lines", "destination", "mode", "pickup_point_id"):
            if getattr(body, name) is not None:
                raise _unusable(name, "an order from a cart takes its lines and destination from the cart: leave it out")
        if body.client_secret is None:
            raise _unusable("client_secret", "required with cart_id: the secret the cart was created with")
        quote_id = await carts.redeem(principal, channel_id, body.cart_id, body.client_secret)
        order_id = await _from_quote(principal, channel_id, body, idempotency_key, Held("cart", body.cart_id, quote_id))
    elif body.client_secret is not None:
        raise _unusable("client_secret", "goes with cart_id only")
    elif body.quote_id is not None:
        for name in ("lines", "destination", "mode", "pickup_point_id"):
            if getattr(body, name) is not None:
                raise _unusable(
                    name, "an order from a quote takes its lines and destination from the quote: leave it out"
                )
        order_id = await _from_quote(
            principal, channel_id, body, idempotency_key, Held("quote", body.quote_id, body.quote_id)
        )
    else:
        if body.lines is None:
            raise _unusable("lines", "required: the lines to order (or a quote_id)")
        order_id = await _direct(principal, channel_id, body, body.lines, idempotency_key)
    return await get(principal, order_id)


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


async def _insert_order(row: dict[str, Any], specs: Sequence[ShareSpec], deadline_minutes: int, now: datetime) -> None:
    await db().fetch(f"INSERT INTO orders ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})", *row.values())
    await fulfilment.open_fulfilment(row["tenant_id"], row, specs, deadline_minutes, now)
    await emit(
        row["tenant_id"],
        "order.created",
        {"id": row["id"], "status": "pending", "total": _money(row["total_amount"], row["currency"])},
        channel_id=row["channel_id"],
    )


async def _direct(
    principal: Principal, channel_id: str, body: OrderCreate, lines: Sequence[LineIn], idempotency_key: str | None
) -> str:
    tenant_id = principal.tenant_id
    mode = _mode(body.mode, body.pickup_point_id)
    destination = await where(tenant_id, body.destination, mode, body.pickup_point_id)
    prices, currency = await _prices(tenant_id, channel_id, lines)
    policy = await routing.policy_of(tenant_id)
    for _ in range(ATTEMPTS):
        routed = await _route(
            tenant_id, channel_id, lines, destination, mode, body.pickup_point_id, policy, prices, currency
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
                await fulfilment.take_committed(tenant_id, routed.specs, principal.key_id)
                await _insert_order(row, routed.specs, policy.acceptance_deadline_minutes, now)
            return order_id
        except LostRace:
            fulfilment.STOCK_RACES_LOST.labels("order").inc()
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


async def _from_quote(
    principal: Principal, channel_id: str, body: OrderCreate, idempotency_key: str | None, held: Held
) -> str:
    tenant_id = principal.tenant_id
    try:
        quote = await _quote_row(principal, held.quote_id)
    except ProblemError:
        raise ProblemError(
            404,
            f"No such {held.kind}: {held.id}",
            slug="not-found",
            errors=[FieldError(field=held.field, message=f"no such {held.kind}")],
        ) from None
    if quote["channel_id"] != channel_id:
        raise _unusable(held.field, f"the {held.kind} is for channel {quote['channel_id']}")
    now = utcnow()
    status = quote_out(quote, now).status
    if status != "open":
        detail = f"{held.kind.title()} {held.id} is {status}"
        if quote["order_id"]:
            detail += f" (order {quote['order_id']})"
        raise ProblemError(
            409,
            f"{detail}: {held.again}",
            slug=f"{held.kind}-expired" if status == "expired" else f"{held.kind}-closed",
            errors=[FieldError(field=held.field, message=f"{held.kind} is {status}")],
        )
    specs = msgspec.convert(_decoded(quote["shipments"]), list[ShareSpec])
    policy = await routing.policy_of(tenant_id)
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
                f"{held.kind.title()} {held.id} was used or released meanwhile: {held.again}", slug=f"{held.kind}-closed"
            )
        for reservation_id in sorted(r for spec in specs for r in spec.reservation_ids):
            if await inventory.commit(tenant_id, reservation_id, principal.key_id) is None:
                # expired by the sweep between our check and now: give nothing, keep nothing
                raise ProblemError(
                    409,
                    f"{held.kind.title()} {held.id} expired: {held.again}",
                    slug=f"{held.kind}-expired",
                    errors=[FieldError(field=held.field, message=f"{held.kind} expired")],
                )
        await _insert_order(row, specs, policy.acceptance_deadline_minutes, now)
    return order_id


def order_out(row: dict[str, Any], fulfilment_rows: list[dict[str, Any]], audience: str) -> OrderOut:
    currency = row["currency"]
    customer = None
    if row["customer"]:
        customer = crypto.keyring().decrypt_json(
            row["customer"], crypto.row_context(row["tenant_id"], row["id"], "customer")
        )
    return msgspec.convert(
        {
            "id": row["id"],
            "channel_id": row["channel_id"],
            "quote_id": row["quote_id"],
            "status": row["status"],
            "mode": row["mode"],
            "destination": _decoded(row["destination"]),
            "pickup_point_id": row["pickup_point_id"],
            "lines": _lines_out(_decoded(row["lines"]), currency),
            "subtotal": _money(row["subtotal_amount"], currency),
            "delivery_fee": _money(row["delivery_fee_amount"], currency),
            "total": _money(row["total_amount"], currency),
            "split": {
                "supplier_amount": _money(row["supplier_amount"], currency),
                "channel_margin": _money(row["channel_margin_amount"], currency),
                "platform_fee": _money(row["platform_fee_amount"], currency),
            },
            "customer": customer,
            "customer_erased": row["customer_erased_at"] is not None,
            "reference": row["reference"],
            "fulfilment_orders": [msgspec.to_builtins(fulfilment.to_out(f, audience)) for f in fulfilment_rows],
            "version": row["version"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
        },
        OrderOut,
    )


def _scope(principal: Principal) -> tuple[str, list[Any]]:
    if principal.type == "channel":
        return " AND channel_id = ?", [principal.owner_id]
    return "", []


async def _order(principal: Principal, order_id: str) -> dict[str, Any]:
    extra, args = _scope(principal)
    rows = await db().fetch(
        f"SELECT {ORDER_COLUMNS} FROM orders WHERE tenant_id = ? AND id = ?{extra}",
        principal.tenant_id,
        order_id,
        *args,
    )
    if not rows:
        raise not_found("order", order_id)
    return rows[0]


async def get(principal: Principal, order_id: str) -> OrderOut:
    row = await _order(principal, order_id)
    shares = await fulfilment.of_orders(principal.tenant_id, [order_id])
    return order_out(row, shares[order_id], principal.type)


async def list_(
    principal: Principal,
    limit: int,
    after: str | None,
    status: str | None,
    channel_id: str | None,
    reference: str | None,
) -> OrderPage:
    extra, args = _scope(principal)
    for column, value in (("status", status), ("channel_id", channel_id), ("reference", reference)):
        if value is not None:
            extra += f" AND {column} = ?"
            args.append(value)
    if after is not None:
        extra += " AND id > ?"
        args.append(after)
    rows = await db().fetch(
        f"SELECT {ORDER_COLUMNS} FROM orders WHERE tenant_id = ?{extra} ORDER BY id LIMIT ?",
        principal.tenant_id,
        *args,
        limit + 1,
    )
    shares = await fulfilment.of_orders(principal.tenant_id, [row["id"] for row in rows[:limit]])
    return make_page(OrderPage, rows, limit, lambda row: order_out(row, shares[row["id"]], principal.type))


async def _act_on_all(
    principal: Principal, order_id: str, action: str, refuse_if: frozenset[str], why: str
) -> OrderOut:
    """Apply `action` to every fulfilment order of the order it applies to, atomically."""
    await _order(principal, order_id)
    async with db().transaction():
        shares = await db().fetch(
            "SELECT id, status FROM fulfilment_orders WHERE tenant_id = ? AND order_id = ? ORDER BY id",
            principal.tenant_id,
            order_id,
        )
        allowed, _, _ = states.TRANSITIONS[action]
        blocking = [s for s in shares if s["status"] in refuse_if]
        movable = [s for s in shares if s["status"] in allowed]
        if blocking or not movable:
            statuses = ", ".join(sorted({s["status"] for s in shares}))
            raise conflict(
                f"Order {order_id} cannot be {why}: its fulfilment orders are {statuses}", slug="invalid-transition"
            )
        for share in movable:
            await fulfilment._transition(principal.tenant_id, share["id"], action, principal.key_id)
        await fulfilment.refresh_order(principal.tenant_id, order_id)
    return await get(principal, order_id)


async def cancel(principal: Principal, order_id: str) -> OrderOut:
    """Before anything shipped: every share cancelled and its stock freed."""
    return await _act_on_all(principal, order_id, "cancel", states.GONE, "cancelled once goods left a location")


async def return_(principal: Principal, order_id: str) -> OrderOut:
    """After delivery or pickup: the goods come back on hand where they left."""
    return await _act_on_all(principal, order_id, "return", frozenset(), "returned before it was delivered")


async def erase_customer(principal: Principal, order_id: str) -> OrderOut:
    """The consumer's personal data is removed for good; the order and its money stay."""
    await _order(principal, order_id)
    async with db().transaction():
        rows = await db().fetch(
            "UPDATE orders SET customer = NULL, customer_erased_at = ?, version = version + 1, updated_at = ? "
            "WHERE tenant_id = ? AND id = ? AND customer_erased_at IS NULL RETURNING channel_id",
            utcnow(),
            utcnow(),
            principal.tenant_id,
            order_id,
        )
        if rows:
            await emit(principal.tenant_id, "order.customer_erased", {"id": order_id}, channel_id=rows[0]["channel_id"])
    return await get(principal, order_id)
