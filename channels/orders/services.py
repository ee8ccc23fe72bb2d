"""Quotes and orders (DESIGN §7) as the API sees them: who orders for which channel, where
to, at which listing prices; quotes (which hold stock); reading, cancelling, returning orders.

Placing an order and re-routing a share are dispatch's (`channels.orders.dispatch`), the one
writer of the `orders` table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import msgspec

from channels.listings.services import listed_prices
from channels.orders import dispatch
from channels.orders.schemas import (
    Destination,
    LineIn,
    OrderCreate,
    OrderOut,
    OrderPage,
    QuoteCreate,
    QuoteOut,
)
from channels.routing import services as routing
from channels.storefront import carts
from gateway import crypto, metrics
from gateway.clock import utcnow
from gateway.http.pagination import make_page
from gateway.http.problems import FieldError, ProblemError, conflict, not_found
from gateway.ids import new_id
from gateway.records import json_value as _decoded
from gateway.records import timestamp_value as _aware
from gateway.storage import db
from gateway.tenancy.principal import Principal
from suppliers.fulfilment import services as fulfilment
from suppliers.fulfilment import states
from suppliers.inventory import services as inventory
from suppliers.inventory.services import LostRace

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
    for _ in range(dispatch.ATTEMPTS):
        routed = await dispatch.plan_order(
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
                held = await inventory.reserve_all(
                    tenant_id, dispatch.takes_of(routed.specs), ttl, principal.key_id, quote_id
                )
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
            dispatch.STOCK_RACES_LOST.labels("quote").inc()
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


async def _existing(principal: Principal, channel_id: str, idempotency_key: str | None) -> OrderOut | None:
    """The order a retried request already made (its idempotency record purged, or the key
    used by another principal for the same channel, or a caller without the HTTP layer)."""
    if idempotency_key is None:
        return None
    order_id = await dispatch.order_with_key(principal.tenant_id, channel_id, idempotency_key)
    return await get(principal, order_id) if order_id else None


ORDERS_PLACED = metrics.counter("orders_placed_total", "Orders placed, from a quote, a cart or direct", ["source"])
ORDERS_REFUSED = metrics.counter("orders_refused_total", "Orders refused, by the problem type's slug", ["reason"])


async def place(principal: Principal, body: OrderCreate, idempotency_key: str | None) -> OrderOut:
    """Place an order (counted in the metrics: placed by source, refused by reason)."""
    try:
        channel_id = await _acting_channel(principal, body.channel_id)
        # a key that placed an order before gets that order: found when the order row is
        # written (the unique index answers, AlreadyPlaced), or when this body would be refused
        try:
            placed = await _place(principal, channel_id, body, idempotency_key)
        except dispatch.AlreadyPlaced as already:
            return await get(principal, already.order_id)
        except ProblemError:
            if (done := await _existing(principal, channel_id, idempotency_key)) is not None:
                return done
            raise
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
                raise _unusable(
                    name, "an order from a cart takes its lines and destination from the cart: leave it out"
                )
        if body.client_secret is None:
            raise _unusable("client_secret", "required with cart_id: the secret the cart was created with")
        quote_id = await carts.redeem(principal, channel_id, body.cart_id, body.client_secret)
        placed = await _from_quote(
            principal, channel_id, body, idempotency_key, dispatch.Held("cart", body.cart_id, quote_id)
        )
    elif body.client_secret is not None:
        raise _unusable("client_secret", "goes with cart_id only")
    elif body.quote_id is not None:
        for name in ("lines", "destination", "mode", "pickup_point_id"):
            if getattr(body, name) is not None:
                raise _unusable(
                    name, "an order from a quote takes its lines and destination from the quote: leave it out"
                )
        placed = await _from_quote(
            principal, channel_id, body, idempotency_key, dispatch.Held("quote", body.quote_id, body.quote_id)
        )
    else:
        if body.lines is None:
            raise _unusable("lines", "required: the lines to order (or a quote_id)")
        placed = await _direct(principal, channel_id, body, body.lines, idempotency_key)
    # the rows as written are what a read would find now: no read-back (GET shows the same)
    return order_out(placed.order, placed.shares, principal.type)


async def _direct(
    principal: Principal, channel_id: str, body: OrderCreate, lines: Sequence[LineIn], idempotency_key: str | None
) -> dispatch.Placed:
    tenant_id = principal.tenant_id
    mode = _mode(body.mode, body.pickup_point_id)
    destination = await where(tenant_id, body.destination, mode, body.pickup_point_id)
    prices, currency = await _prices(tenant_id, channel_id, lines)
    policy = await routing.policy_of(tenant_id)
    return await dispatch.place_direct(
        principal, channel_id, body, lines, mode, destination, prices, currency, policy, idempotency_key
    )


async def _from_quote(
    principal: Principal, channel_id: str, body: OrderCreate, idempotency_key: str | None, held: dispatch.Held
) -> dispatch.Placed:
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
    policy = await routing.policy_of(tenant_id)
    return await dispatch.place_from_quote(principal, channel_id, body, idempotency_key, held, quote, policy)


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
    await _order(principal, order_id)  # 404 unless visible
    await dispatch.act_on_all(principal.tenant_id, order_id, action, refuse_if, why, principal.key_id)
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
    await dispatch.erase_customer(principal.tenant_id, order_id)
    return await get(principal, order_id)
