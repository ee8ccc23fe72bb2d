"""The storefront's services: browse what reaches a point, pickup points, carts (DESIGN §13).

Browsing answers a whole page of products for one point at once: `routing.Reach` ranks the
locations that serve the point once, and reads stock only for the best of them until every
product on the page has a home (no order is planned per product). Carts are quotes
(`channels.orders.create_quote`: the same pricing, routing and reservations, so the same
ledger path and the same expiry sweep) with a client secret, capped per cart, per key and
per client address so that a script cannot lock a city's stock.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import msgspec

from channels.orders import services as orders
from channels.orders.schemas import QuoteCreate, QuoteOut
from channels.routing import services as routing
from channels.routing.core import Candidate
from channels.routing.directory import index_for
from channels.storefront import carts
from channels.storefront.schemas import (
    Cart,
    CartCreate,
    CartCreated,
    CartPage,
    CartShipment,
    PickupPoint,
    PickupPointPage,
    StorefrontProduct,
    StorefrontProductDetail,
    StorefrontProductPage,
)
from gateway.clock import utcnow
from gateway.http.pagination import make_page
from gateway.http.problems import FieldError, ProblemError, conflict, not_found
from gateway.ids import new_id
from gateway.records import json_value
from gateway.settings import Settings
from gateway.storage import db
from gateway.tenancy.principal import Principal

#: listings read per statement while filling a page with products that reach the point
LISTING_CHUNK = 200


def _unusable(field: str, message: str) -> ProblemError:
    return ProblemError(
        409, f"{field}: {message}", slug="unusable-request", errors=[FieldError(field=field, message=message)]
    )


def _channel_filter(principal: Principal, channel_id: str | None) -> str | None:
    """The channel whose listings to show: a channel's own (naming another shows nothing), or,
    for the operator, the one it names (None: every channel's)."""
    if principal.type == "channel":
        if channel_id is not None and channel_id != principal.owner_id:
            return ""
        return principal.owner_id
    return channel_id


class Point(msgspec.Struct, frozen=True):
    destination: routing.Destination
    mode: str
    pickup_point_id: str | None


async def point_of(tenant_id: str, lat: float | None, lng: float | None, pickup_point_id: str | None) -> Point | None:
    """Where the shopper wants things: a point to deliver to, or a pickup point; None if neither."""
    if pickup_point_id is not None:
        if lat is not None or lng is not None:
            raise _unusable("pickup_point_id", "give a pickup point or lat/lng, not both")
        destination = await orders.where(tenant_id, None, "pickup", pickup_point_id)
        return Point(destination=destination, mode="pickup", pickup_point_id=pickup_point_id)
    if lat is None and lng is None:
        return None
    if lat is None or lng is None:
        missing = "lat" if lat is None else "lng"
        raise _unusable(missing, "lat and lng go together")
    return Point(destination=routing.Destination(lat=lat, lng=lng), mode="delivery", pickup_point_id=None)


# -- browsing ------------------------------------------------------------------------------------

_LISTING_COLUMNS = (
    "l.id, l.channel_id, l.sku, l.price_amount, l.currency, v.title AS variant_title, v.product_id, "
    "v.options, p.title, p.description, p.media, p.attributes"
)


async def _listings(
    tenant_id: str, channel_id: str | None, q: str | None, after: str | None, limit: int, listing_id: str | None = None
) -> list[dict[str, Any]]:
    """Active listings of active products, in listing order, optionally matching `q` (in the
    title, the variant's title or the sku, case-insensitively)."""
    where = "l.tenant_id = ? AND l.active = ? AND p.status = 'active' AND v.status = 'active'"
    args: list[Any] = [tenant_id, True]
    if channel_id is not None:
        where += " AND l.channel_id = ?"
        args.append(channel_id)
    if listing_id is not None:
        where += " AND l.id = ?"
        args.append(listing_id)
    if q:
        like = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where += (
            " AND (LOWER(p.title) LIKE ? ESCAPE '\\' OR LOWER(v.title) LIKE ? ESCAPE '\\' "
            "OR LOWER(l.sku) LIKE ? ESCAPE '\\')"
        )
        args += [like, like, like]
    if after is not None:
        where += " AND l.id > ?"
        args.append(after)
    return await db().fetch(
        f"SELECT {_LISTING_COLUMNS} FROM listings l "
        "JOIN variants v ON v.tenant_id = l.tenant_id AND v.sku = l.sku "
        "JOIN products p ON p.tenant_id = v.tenant_id AND p.id = v.product_id "
        f"WHERE {where} ORDER BY l.id LIMIT ?",
        *args,
        limit,
    )


def _product(row: dict[str, Any], found: Candidate | None, point: Point | None) -> dict[str, Any]:
    media = json_value(row["media"]) or []
    promise = found.promise if found is not None else None
    return {
        "id": row["id"],
        "channel_id": row["channel_id"],
        "sku": row["sku"],
        "product_id": row["product_id"],
        "title": row["title"],
        "variant_title": row["variant_title"],
        "image": media[0] if media else None,
        "price": {"amount": row["price_amount"], "currency": row["currency"]},
        "in_stock": None if point is None else found is not None,
        "tier": promise.tier if promise else None,
        "eta_minutes": promise.eta_minutes if promise else None,
        "promised_at": promise.promised_at if promise else None,
    }


async def _availability(reach: routing.Reach, rows: list[dict[str, Any]]) -> dict[str, dict[str, Candidate | None]]:
    """channel -> sku -> where one unit would ship from (see `routing.Reach.best`); a channel's
    listing prices decide which offers may fill it, so each channel is asked separately."""
    by_channel: dict[str, dict[str, routing.Offered]] = {}
    for row in rows:
        by_channel.setdefault(row["channel_id"], {})[row["sku"]] = routing.Offered(
            amount=row["price_amount"], currency=row["currency"]
        )
    return {channel: await reach.best(prices) for channel, prices in by_channel.items()}


async def products(
    principal: Principal,
    *,
    lat: float | None,
    lng: float | None,
    pickup_point_id: str | None,
    q: str | None,
    limit: int,
    after: str | None,
    channel_id: str | None,
) -> StorefrontProductPage:
    tenant_id = principal.tenant_id
    channel = _channel_filter(principal, channel_id)
    point = await point_of(tenant_id, lat, lng, pickup_point_id)
    if point is None:
        rows = await _listings(tenant_id, channel, q, after, limit + 1)
        return make_page(StorefrontProductPage, rows, limit, lambda row: _convert(_product(row, None, None)))
    reach = await routing.Reach.open(tenant_id, point.destination, point.mode, pickup_point_id=point.pickup_point_id)
    kept: list[dict[str, Any]] = []
    cursor = after
    while len(kept) <= limit:
        rows = await _listings(tenant_id, channel, q, cursor, LISTING_CHUNK)
        if not rows:
            break
        found = await _availability(reach, rows)
        for row in rows:
            answer = found[row["channel_id"]]
            if row["sku"] in answer:  # sold by someone who reaches the point
                kept.append(_product(row, answer[row["sku"]], point))
                if len(kept) > limit:
                    break
        if len(rows) < LISTING_CHUNK:
            break
        cursor = rows[-1]["id"]
    return make_page(StorefrontProductPage, kept, limit, _convert)


def _convert(item: dict[str, Any]) -> StorefrontProduct:
    return msgspec.convert(item, StorefrontProduct)


async def product(
    principal: Principal, listing_id: str, *, lat: float | None, lng: float | None, pickup_point_id: str | None
) -> StorefrontProductDetail:
    """One listed product with its description and media; with a point, its promise there
    (`in_stock` false and no promise when nothing reaching the point sells it now)."""
    tenant_id = principal.tenant_id
    rows = await _listings(tenant_id, _channel_filter(principal, None), None, None, 1, listing_id=listing_id)
    if not rows:
        raise not_found("product", listing_id)
    row = rows[0]
    point = await point_of(tenant_id, lat, lng, pickup_point_id)
    found: Candidate | None = None
    if point is not None:
        reach = await routing.Reach.open(
            tenant_id, point.destination, point.mode, pickup_point_id=point.pickup_point_id
        )
        found = (await _availability(reach, rows))[row["channel_id"]].get(row["sku"])
    return msgspec.convert(
        {
            **_product(row, found, point),
            "description": row["description"] or "",
            "media": json_value(row["media"]) or [],
            "options": json_value(row["options"]) or {},
            "attributes": json_value(row["attributes"]) or {},
        },
        StorefrontProductDetail,
    )


async def pickup_points(principal: Principal, lat: float, lng: float, radius_km: float, limit: int) -> PickupPointPage:
    """Active locations that take pickups within `radius_km` of the point, nearest first (the
    routing index: no scan of the tenant's locations)."""
    index = await index_for(principal.tenant_id)
    near = [(site, d) for site, d in index.within(lat, lng, radius_km) if "pickup" in site.modes][: limit + 1]
    names: dict[str, dict[str, Any]] = {}
    if near:
        ids = [site.id for site, _ in near]
        rows = await db().fetch(
            f"SELECT id, name, address FROM locations WHERE tenant_id = ? AND id IN ({', '.join('?' for _ in ids)})",
            principal.tenant_id,
            *ids,
        )
        names = {row["id"]: row for row in rows}
    points = [
        PickupPoint(
            id=site.id,
            name=names.get(site.id, {}).get("name", ""),
            kind=site.kind,
            lat=site.lat,
            lng=site.lng,
            distance_km=round(distance, 3),
            address=json_value(names.get(site.id, {}).get("address", "{}")) or {},
            opening_hours=dict(site.opening_hours),
            timezone=site.timezone,
        )
        for site, distance in near[:limit]
    ]
    return PickupPointPage(data=points, has_more=len(near) > limit, next_cursor=None)


# -- carts -----------------------------------------------------------------------------------------


def cart_out(row: dict[str, Any], quote: QuoteOut) -> Cart:
    return Cart(
        id=row["id"],
        channel_id=quote.channel_id,
        status=quote.status,  # type: ignore[arg-type]
        mode=quote.mode,
        destination=quote.destination,
        pickup_point_id=quote.pickup_point_id,
        lines=quote.lines,
        subtotal=quote.subtotal,
        delivery_fee=quote.delivery_fee,
        total=quote.total,
        shipments=[
            CartShipment(
                lines=s.lines,
                tier=s.tier,
                eta_minutes=s.eta_minutes,
                promised_at=s.promised_at,
                distance_km=s.distance_km,
                fee=s.fee,
            )
            for s in quote.shipments
        ],
        expires_at=quote.expires_at,
        order_id=quote.order_id,
        created_at=row["created_at"],
    )


def _too_large(message: str) -> ProblemError:
    return ProblemError(
        409, f"lines: {message}", slug="cart-too-large", errors=[FieldError(field="lines", message=message)]
    )


async def _check_caps(principal: Principal, address: str | None, settings: Settings, now: datetime) -> None:
    """429 `too-many-carts` when the key, or the client address (publishable keys), already
    holds as many open carts as allowed; `Retry-After` says when the first of them lapses."""
    caps = [("key_id", principal.key_id, settings.storefront_max_open_carts_per_key, "This key")]
    if address is not None:
        caps.append(("client_address", address, settings.storefront_max_open_carts_per_address, "This client address"))
    for column, value, cap, who in caps:
        if await carts.open_count(principal.tenant_id, column, value, now) < cap:
            continue
        first = await carts.first_expiry(principal.tenant_id, column, value, now)
        wait = max(1, math.ceil((first - now).total_seconds())) if first is not None else 1
        raise ProblemError(
            429,
            f"{who} already holds {cap} open carts, the most allowed: order or release one, or retry in {wait}s "
            "when the first expires",
            slug="too-many-carts",
            headers={"Retry-After": str(wait)},
        )


async def create_cart(
    principal: Principal, body: CartCreate, client_host: str | None, settings: Settings
) -> CartCreated:
    """Price, route and hold the lines for `storefront_cart_ttl_seconds`, within the caps."""
    if len(body.lines) > settings.storefront_max_cart_lines:
        raise _too_large(f"at most {settings.storefront_max_cart_lines} lines per cart")
    units = sum(line.qty for line in body.lines)
    if units > settings.storefront_max_cart_units:
        raise _too_large(f"at most {settings.storefront_max_cart_units} units per cart, not {units}")
    # browsers share nothing but their address; a channel's server speaks for many shoppers
    address = carts.address_bucket(client_host) if principal.key_kind == "publishable" else None
    await _check_caps(principal, address, settings, utcnow())  # cheap refusal before routing
    cart_id = new_id("crt")
    secret = carts.new_secret()
    made: dict[str, Any] = {}

    async def within(quote: dict[str, Any]) -> None:
        """In the quote's transaction: count again under the key's row lock (PostgreSQL; SQLite's
        writers are serial anyway), so concurrent carts of one key cannot pass a cap together."""
        await db().fetch(f"SELECT id FROM api_keys WHERE id = ?{db().lock_rows_sql}", principal.key_id)
        await _check_caps(principal, address, settings, utcnow())
        row = {
            "id": cart_id,
            "tenant_id": principal.tenant_id,
            "channel_id": quote["channel_id"],
            "quote_id": quote["id"],
            "key_id": principal.key_id,
            "client_address": address or "",
            "secret_hash": carts.digest(secret),
            "expires_at": quote["expires_at"],
            "created_at": quote["created_at"],
        }
        await carts.insert(row)
        made["row"] = row

    quote = await orders.create_quote(
        principal,
        QuoteCreate(
            lines=body.lines,
            destination=body.destination,
            mode=body.mode,
            pickup_point_id=body.pickup_point_id,
            channel_id=body.channel_id,
        ),
        ttl=timedelta(seconds=settings.storefront_cart_ttl_seconds),
        within=within,
    )
    cart = cart_out(made["row"], quote)
    return CartCreated(**msgspec.structs.asdict(cart), client_secret=secret)


async def _held(principal: Principal, cart_id: str, client_secret: str | None) -> dict[str, Any]:
    """The cart, for its holder: a publishable key must prove it with the cart's secret."""
    row = await carts.find(principal, cart_id)
    if row is None:
        raise not_found("cart", cart_id)
    if principal.key_kind == "publishable" and not carts.secret_matches(row, client_secret):
        raise ProblemError(
            403,
            f"Send the client_secret cart {cart_id} was created with"
            if client_secret is None
            else f"client_secret is not the secret of cart {cart_id}",
            slug="invalid-client-secret",
            errors=[
                FieldError(
                    field="client_secret", message="required" if client_secret is None else "not this cart's secret"
                )
            ],
        )
    return row


async def get_cart(principal: Principal, cart_id: str, client_secret: str | None) -> Cart:
    row = await _held(principal, cart_id, client_secret)
    return cart_out(row, await orders.get_quote(principal, row["quote_id"]))


async def release_cart(principal: Principal, cart_id: str, client_secret: str | None) -> Cart:
    """Give the held stock back now (the shopper changed the cart or left)."""
    row = await _held(principal, cart_id, client_secret)
    try:
        quote = await orders.release_quote(principal, row["quote_id"])
    except ProblemError as error:
        if error.slug != "quote-closed":
            raise
        status = (await orders.get_quote(principal, row["quote_id"])).status
        raise conflict(f"Cart {cart_id} is {status}: nothing to release", slug="cart-closed") from None
    return cart_out(row, quote)


async def list_carts(principal: Principal, limit: int, after: str | None, channel_id: str | None) -> CartPage:
    rows = await carts.page(principal, limit, after, channel_id)
    quotes = await orders.quotes_by_id(principal.tenant_id, [row["quote_id"] for row in rows[:limit]])
    return make_page(CartPage, rows, limit, lambda row: cart_out(row, quotes[row["quote_id"]]))
