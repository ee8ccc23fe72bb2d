"""Listings: a channel sells a catalogue SKU at its own retail price (DESIGN §5).

One listing per (channel, sku): creating a second is a 409 naming the first (change its price
with PATCH). A channel reads and writes only its own listings; the operator every listing of
the tenant (and names the channel when it creates one); suppliers none.

A price must be one some supplier can fill without a loss: at least one active offer of an
active supplier, in the price's currency, whose wholesale price, and whose minimum retail
price when it sets one, are not above it. That is the rule routing applies to each candidate
location (`channels.routing.services`), checked here when a price is written (create, PATCH)
and when a listing is activated, so a channel learns of a price nobody can fill when it sets
it, not when its first order finds no location. Offers change after that, so routing still
checks at order time.

Every price a listing is given is appended to `listing_prices` with the version it took effect
at, in the transaction of the change, so that the price of any order can be explained later.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from channels.listings.models import Listing
from channels.listings.schemas import ListingCreate, ListingOut, ListingPriceOut, ListingUpdate
from gateway.clock import utcnow
from gateway.events.services import emit
from gateway.http.problems import FieldError, ProblemError, conflict, not_found
from gateway.ids import new_id
from gateway.money import Money
from gateway.records import get_one, list_page, narrowed, update_versioned
from gateway.storage import db
from gateway.tenancy.principal import Principal

KIND = "listing"
#: SKUs per `IN (...)` list: well inside both engines' parameter limits
CHUNK = 1000
#: the largest version a row can have (an INTEGER column); cursors beyond it filter nothing
MAX_VERSION = 2**31 - 1


class ListedPrice(msgspec.Struct, frozen=True, kw_only=True):
    """What an order line is priced at: the listing (and its version) the price came from."""

    listing_id: str
    sku: str
    amount: int
    currency: str
    version: int


# -- who owns what ---------------------------------------------------------------------------


def visible(principal: Principal) -> dict[str, Any]:
    """Row filters: the operator sees every listing, a channel its own, anyone else none."""
    scope = principal.scope("channel")
    return {} if scope is None else {"channel_id": scope}


async def acting_channel(principal: Principal, channel_id: str | None) -> str:
    """The channel a new listing belongs to.

    A channel lists for itself: it may leave `channel_id` out or name itself; naming another
    is a 403 whether or not that channel exists. The operator must name an existing channel
    of its tenant: leaving it out is a 403 naming the field (the request is valid for a
    channel, so the schema cannot refuse it), an unknown or foreign one a 404.
    """
    if principal.type == "channel":
        assert principal.owner_id is not None
        if channel_id is not None and channel_id != principal.owner_id:
            raise ProblemError(
                403,
                "A channel may create listings only for itself",
                errors=[FieldError(field="channel_id", message="must be your own channel id, or left out")],
            )
        return principal.owner_id
    if not principal.is_operator:
        raise ProblemError(403, "Only the operator or a channel may call this operation")
    if channel_id is None:
        raise ProblemError(
            403,
            "The operator creates a listing on behalf of a channel: name it in channel_id",
            slug="channel-required",
            errors=[FieldError(field="channel_id", message="required when the operator creates a listing")],
        )
    rows = await db().fetch(
        "SELECT 1 AS found FROM channels WHERE tenant_id = ? AND id = ?", principal.tenant_id, channel_id
    )
    if not rows:
        raise not_found("channel", channel_id)
    return channel_id


# -- the rules a price must meet ---------------------------------------------------------------


async def _check_sku(tenant_id: str, sku: str) -> None:
    rows = await db().fetch("SELECT 1 AS found FROM variants WHERE tenant_id = ? AND sku = ?", tenant_id, sku)
    if not rows:
        raise ProblemError(
            404,
            f"No such sku in the catalogue: {sku}",
            slug="unknown-sku",
            errors=[FieldError(field="sku", message="not a SKU of this tenant's catalogue")],
        )


def _lowest(amounts: Iterable[int]) -> int | None:
    return min(amounts, default=None)


async def check_price(tenant_id: str, sku: str, price: Money) -> None:
    """409 unless an active offer of an active supplier can fill `sku` at `price` (see above).

    The three ways to fail get their own problem, each naming what to change: no offer at all
    (`sku-not-offered`: nothing to do but wait for a supplier), none in this currency or every
    wholesale price above the price (`price-below-cost`), or the only offers cheap enough all
    set a minimum retail price above it (`price-below-minimum`).
    """
    offers = await db().fetch(
        "SELECT o.wholesale_amount, o.min_retail_amount, o.currency FROM offers o "
        "JOIN suppliers s ON s.tenant_id = o.tenant_id AND s.id = o.supplier_id "
        "WHERE o.tenant_id = ? AND o.sku = ? AND o.active = ? AND s.status = 'active'",
        tenant_id,
        sku,
        True,
    )
    if not offers:
        raise ProblemError(
            409,
            f"No active supplier offers {sku} now, so no order for it could be filled; "
            "list it once a supplier offers it",
            slug="sku-not-offered",
            errors=[FieldError(field="sku", message="no active offer of an active supplier")],
        )
    same = [row for row in offers if row["currency"] == price.currency]
    if not same:
        currencies = ", ".join(sorted({row["currency"] for row in offers}))
        raise ProblemError(
            409,
            f"Every active offer of {sku} is in {currencies}, none in {price.currency}: "
            "no supplier could fill this price, so give it in the offers' currency",
            slug="price-below-cost",
            errors=[FieldError(field="price.currency", message=f"must be one of {currencies}")],
        )
    cost = _lowest(row["wholesale_amount"] for row in same)
    assert cost is not None
    if price.amount < cost:
        raise ProblemError(
            409,
            f"price {price.amount} {price.currency} is below the wholesale price of every active offer of {sku} "
            f"(the lowest is {cost}): every sale would be at a loss and no supplier could fill it",
            slug="price-below-cost",
            errors=[FieldError(field="price.amount", message=f"must be at least {cost}")],
        )
    floor = _lowest(max(row["wholesale_amount"], row["min_retail_amount"] or 0) for row in same)
    assert floor is not None
    if price.amount < floor:
        raise ProblemError(
            409,
            f"price {price.amount} {price.currency} covers a wholesale price of {sku}, but every supplier "
            f"that could fill it sets a higher minimum retail price (the lowest is {floor})",
            slug="price-below-minimum",
            errors=[FieldError(field="price.amount", message=f"must be at least {floor}")],
        )


# -- rows ------------------------------------------------------------------------------------


def to_out(row: dict[str, Any]) -> ListingOut:
    return msgspec.convert(
        {
            "id": row["id"],
            "channel_id": row["channel_id"],
            "sku": row["sku"],
            "price": {"amount": row["price_amount"], "currency": row["currency"]},
            "active": bool(row["active"]),  # SQLite answers 0/1
            "version": row["version"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
        },
        ListingOut,
    )


def price_to_out(row: dict[str, Any]) -> ListingPriceOut:
    return msgspec.convert(
        {
            "listing_id": row["listing_id"],
            "version": row["version"],
            "price": {"amount": row["price_amount"], "currency": row["currency"]},
            "actor": row["actor"],
            "at": row["at"],
        },
        ListingPriceOut,
    )


async def _record_price(principal: Principal, listing: ListingOut) -> None:
    """Append the listing's price at its current version to the history (inside the change's
    transaction: the unique (listing, version) index makes a second entry for one version fail)."""
    await db().fetch(
        "INSERT INTO listing_prices (id, tenant_id, listing_id, version, price_amount, currency, actor, at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        new_id("lpr"),
        principal.tenant_id,
        listing.id,
        listing.version,
        listing.price.amount,
        listing.price.currency,
        principal.key_id,
        listing.updated_at,
    )


# -- the life cycle --------------------------------------------------------------------------


async def create(principal: Principal, body: ListingCreate) -> ListingOut:
    channel_id = await acting_channel(principal, body.channel_id)
    await _check_sku(principal.tenant_id, body.sku)
    await check_price(principal.tenant_id, body.sku, body.price)
    now = utcnow()
    row: dict[str, Any] = {
        "id": new_id("lst"),
        "tenant_id": principal.tenant_id,
        "channel_id": channel_id,
        "sku": body.sku,
        "price_amount": body.price.amount,
        "currency": body.price.currency,
        "active": body.active,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    async with db().transaction():
        inserted = await db().fetch(
            f"INSERT INTO listings ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)}) "
            "ON CONFLICT (tenant_id, channel_id, sku) DO NOTHING RETURNING id",
            *row.values(),
        )
        if not inserted:
            existing = await db().fetch(
                "SELECT id FROM listings WHERE tenant_id = ? AND channel_id = ? AND sku = ?",
                principal.tenant_id,
                channel_id,
                body.sku,
            )
            ident = existing[0]["id"] if existing else "?"
            raise conflict(
                f"Channel {channel_id} already lists {body.sku} as {ident}: change that listing with PATCH",
                slug="listing-exists",
            )
        out = to_out(row)
        await _record_price(principal, out)
        await emit(principal.tenant_id, "listing.created", out, channel_id=channel_id)
    return out


async def get(principal: Principal, listing_id: str) -> ListingOut:
    return to_out(await get_one(Listing, KIND, principal.tenant_id, listing_id, visible(principal)))


async def list_(
    principal: Principal,
    limit: int,
    after: str | None,
    sku: str | None = None,
    channel_id: str | None = None,
    active: bool | None = None,
) -> list[dict[str, Any]]:
    filters = narrowed(visible(principal), {"sku": sku, "channel_id": channel_id, "active": active})
    if filters is None:
        return []  # asks for rows it may not see: there are none
    return await list_page(Listing, principal.tenant_id, limit, after, filters)


async def update(principal: Principal, listing_id: str, body: ListingUpdate) -> ListingOut:
    """Change the price (checked as on create) and record it; a stale `version` is a 409.
    A body with only `version` changes nothing but the version, like the other PATCHes."""
    async with db().transaction():
        current = await get_one(Listing, KIND, principal.tenant_id, listing_id, visible(principal))
        if current["version"] != body.version:
            raise conflict(
                f"{KIND} {listing_id} is at version {current['version']}, not {body.version}: read it again and retry",
                slug="version-conflict",
            )
        values: dict[str, Any] = {}
        if isinstance(body.price, Money):
            await check_price(principal.tenant_id, current["sku"], body.price)
            values = {"price_amount": body.price.amount, "currency": body.price.currency}
        row = await update_versioned(
            Listing, KIND, principal.tenant_id, listing_id, body.version, values, visible(principal)
        )
        out = to_out(row)
        if values:
            await _record_price(principal, out)
        await emit(principal.tenant_id, "listing.updated", out, channel_id=out.channel_id)
    return out


async def set_active(principal: Principal, listing_id: str, version: int | None, active: bool) -> ListingOut:
    """An inactive listing keeps its price but cannot be quoted or ordered. Activating checks
    the price again: the offers it was set against may have changed or gone since."""
    event = "listing.activated" if active else "listing.deactivated"
    async with db().transaction():
        if active:
            current = await get_one(Listing, KIND, principal.tenant_id, listing_id, visible(principal))
            if version is not None and current["version"] != version:
                raise conflict(
                    f"{KIND} {listing_id} is at version {current['version']}, not {version}: read it again and retry",
                    slug="version-conflict",
                )
            await check_price(principal.tenant_id, current["sku"], Money(current["price_amount"], current["currency"]))
        row = await update_versioned(
            Listing, KIND, principal.tenant_id, listing_id, version, {"active": active}, visible(principal)
        )
        out = to_out(row)
        await emit(principal.tenant_id, event, out, channel_id=out.channel_id)
    return out


async def price_history(principal: Principal, listing_id: str, limit: int, after: int | None) -> list[dict[str, Any]]:
    """Up to `limit + 1` entries of the listing's price history, newest first, older than
    version `after` (the previous page's cursor) when given. 404 for a listing not visible."""
    await get_one(Listing, KIND, principal.tenant_id, listing_id, visible(principal))
    extra, args = "", []
    if after is not None and after <= MAX_VERSION:  # beyond it every version is older
        extra, args = " AND version < ?", [after]
    return await db().fetch(
        "SELECT listing_id, version, price_amount, currency, actor, at FROM listing_prices "
        f"WHERE tenant_id = ? AND listing_id = ?{extra} ORDER BY version DESC LIMIT ?",
        principal.tenant_id,
        listing_id,
        *args,
        limit + 1,
    )


# -- for other areas (quotes, orders) --------------------------------------------------------


async def listed_prices(tenant_id: str, channel_id: str, skus: Iterable[str]) -> dict[str, ListedPrice]:
    """sku → the channel's price for it, for each of `skus` the channel has an *active*
    listing of; SKUs not listed, or listed but inactive, are simply absent.

    What quotes and orders price their lines at; `listing_id` and `version` let an order say
    exactly which price it took (`listing_prices` keeps every version's). Set-based: one
    indexed query per 1000 SKUs (the unique index on (tenant_id, channel_id, sku) answers it).
    """
    wanted = sorted(set(skus))
    found: dict[str, ListedPrice] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        marks = ", ".join("?" for _ in chunk)
        rows = await db().fetch(
            "SELECT id, sku, price_amount, currency, version FROM listings "
            f"WHERE tenant_id = ? AND channel_id = ? AND active = ? AND sku IN ({marks})",
            tenant_id,
            channel_id,
            True,
            *chunk,
        )
        for row in rows:
            found[row["sku"]] = ListedPrice(
                listing_id=row["id"],
                sku=row["sku"],
                amount=row["price_amount"],
                currency=row["currency"],
                version=row["version"],
            )
    return found
