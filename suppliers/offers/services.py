"""Offers: a supplier offers a catalogue SKU at a wholesale price (DESIGN §5).

One offer per (supplier, sku): creating a second is a 409 naming the first (change its price
with PATCH). A supplier reads and writes only its own offers; the operator every offer of the
tenant. Only an *active* offer lets the supplier stock the SKU at its locations and be routed
orders for it: the ledger and routing ask `offered_skus`.

Prices: `wholesale_price` is what the supplier is paid; the optional `min_retail_price` is the
lowest price a channel may list the SKU at. It shares the wholesale currency (the table keeps
one currency per offer) and is not below the wholesale price (a floor under the price nobody
may sell below anyway would say nothing; it is almost surely a mistake in units). Both rules
span two fields, which a JSON schema cannot say, so a breach is a 409 naming the field.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from gateway.clock import utcnow
from gateway.events.services import emit
from gateway.http.fields import changes
from gateway.http.problems import FieldError, ProblemError, conflict
from gateway.ids import new_id
from gateway.money import Money
from gateway.records import get_one, list_page, narrowed, update_versioned
from gateway.storage import db
from gateway.tenancy.principal import Principal
from suppliers.locations.services import acting_supplier, visible
from suppliers.offers.models import Offer
from suppliers.offers.schemas import OfferCreate, OfferOut, OfferUpdate

KIND = "offer"
#: SKUs per `IN (...)` list: well inside both engines' parameter limits
CHUNK = 1000


def to_out(row: dict[str, Any]) -> OfferOut:
    currency = row["currency"]
    minimum = row["min_retail_amount"]
    return msgspec.convert(
        {
            "id": row["id"],
            "supplier_id": row["supplier_id"],
            "sku": row["sku"],
            "wholesale_price": {"amount": row["wholesale_amount"], "currency": currency},
            "min_retail_price": None if minimum is None else {"amount": minimum, "currency": currency},
            "active": bool(row["active"]),  # SQLite answers 0/1
            "version": row["version"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
        },
        OfferOut,
    )


def _check_prices(wholesale: Money, min_retail: Money | None) -> None:
    if min_retail is None:
        return
    if min_retail.currency != wholesale.currency:
        raise ProblemError(
            409,
            f"min_retail_price is in {min_retail.currency} but wholesale_price in {wholesale.currency}: "
            "give both in one currency, or min_retail_price null",
            slug="currency-mismatch",
            errors=[FieldError(field="min_retail_price.currency", message=f"must be {wholesale.currency}")],
        )
    if min_retail.amount < wholesale.amount:
        raise ProblemError(
            409,
            f"min_retail_price {min_retail.amount} is below wholesale_price {wholesale.amount}",
            slug="min-retail-below-wholesale",
            errors=[FieldError(field="min_retail_price.amount", message=f"must be at least {wholesale.amount}")],
        )


async def _check_sku(tenant_id: str, sku: str) -> None:
    rows = await db().fetch("SELECT 1 AS found FROM variants WHERE tenant_id = ? AND sku = ?", tenant_id, sku)
    if not rows:
        raise ProblemError(
            404,
            f"No such sku in the catalogue: {sku}",
            slug="unknown-sku",
            errors=[FieldError(field="sku", message="not a SKU of this tenant's catalogue")],
        )


async def create(principal: Principal, body: OfferCreate) -> OfferOut:
    supplier_id = await acting_supplier(principal, body.supplier_id, KIND)
    _check_prices(body.wholesale_price, body.min_retail_price)
    await _check_sku(principal.tenant_id, body.sku)
    now = utcnow()
    row: dict[str, Any] = {
        "id": new_id("off"),
        "tenant_id": principal.tenant_id,
        "supplier_id": supplier_id,
        "sku": body.sku,
        "wholesale_amount": body.wholesale_price.amount,
        "currency": body.wholesale_price.currency,
        "min_retail_amount": body.min_retail_price.amount if body.min_retail_price else None,
        "active": body.active,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    async with db().transaction():
        inserted = await db().fetch(
            f"INSERT INTO offers ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)}) "
            "ON CONFLICT (tenant_id, supplier_id, sku) DO NOTHING RETURNING id",
            *row.values(),
        )
        if not inserted:
            existing = await db().fetch(
                "SELECT id FROM offers WHERE tenant_id = ? AND supplier_id = ? AND sku = ?",
                principal.tenant_id,
                supplier_id,
                body.sku,
            )
            ident = existing[0]["id"] if existing else "?"
            raise conflict(
                f"Supplier {supplier_id} already offers {body.sku} as {ident}: change that offer with PATCH",
                slug="offer-exists",
            )
        out = to_out(row)
        await emit(principal.tenant_id, "offer.created", out, supplier_id=supplier_id)
    return out


async def get(principal: Principal, offer_id: str) -> OfferOut:
    return to_out(await get_one(Offer, KIND, principal.tenant_id, offer_id, visible(principal)))


async def list_(
    principal: Principal,
    limit: int,
    after: str | None,
    sku: str | None = None,
    supplier_id: str | None = None,
    active: bool | None = None,
) -> list[dict[str, Any]]:
    filters = narrowed(visible(principal), {"sku": sku, "supplier_id": supplier_id, "active": active})
    if filters is None:
        return []  # asks for rows it may not see: there are none
    return await list_page(Offer, principal.tenant_id, limit, after, filters)


async def update(principal: Principal, offer_id: str, body: OfferUpdate) -> OfferOut:
    """Change the prices; the rules are checked against the offer as it will be."""
    given = changes(body)
    async with db().transaction():
        current = await get_one(Offer, KIND, principal.tenant_id, offer_id, visible(principal))
        if current["version"] != body.version:
            raise conflict(
                f"{KIND} {offer_id} is at version {current['version']}, not {body.version}: read it again and retry",
                slug="version-conflict",
            )
        wholesale = given.get("wholesale_price", Money(current["wholesale_amount"], current["currency"]))
        assert isinstance(wholesale, Money)
        if "min_retail_price" in given:
            min_retail = given["min_retail_price"]
        elif current["min_retail_amount"] is None:
            min_retail = None
        else:
            min_retail = Money(current["min_retail_amount"], current["currency"])
        assert min_retail is None or isinstance(min_retail, Money)
        _check_prices(wholesale, min_retail)
        values: dict[str, Any] = {}
        if "wholesale_price" in given:
            values["wholesale_amount"] = wholesale.amount
            values["currency"] = wholesale.currency
        if "min_retail_price" in given:
            values["min_retail_amount"] = min_retail.amount if min_retail else None
        row = await update_versioned(
            Offer, KIND, principal.tenant_id, offer_id, body.version, values, visible(principal)
        )
        out = to_out(row)
        await emit(principal.tenant_id, "offer.updated", out, supplier_id=out.supplier_id)
    return out


async def set_active(principal: Principal, offer_id: str, version: int | None, active: bool) -> OfferOut:
    """An inactive offer keeps its prices; the supplier can no longer stock or sell the SKU."""
    event = "offer.activated" if active else "offer.deactivated"
    async with db().transaction():
        row = await update_versioned(
            Offer, KIND, principal.tenant_id, offer_id, version, {"active": active}, visible(principal)
        )
        out = to_out(row)
        await emit(principal.tenant_id, event, out, supplier_id=out.supplier_id)
    return out


# -- for other areas (inventory ledger, routing) --------------------------------------------


async def offered_skus(tenant_id: str, supplier_id: str, skus: Iterable[str]) -> set[str]:
    """The subset of `skus` that `supplier_id` actively offers in the tenant.

    What the ledger asks before it lets stock of a SKU onto a supplier's location, and routing
    before it counts a location as a candidate. Set-based: one indexed query per 1000 SKUs
    (the unique index on (tenant_id, supplier_id, sku) answers it), whatever the batch size.
    """
    wanted = sorted(set(skus))
    offered: set[str] = set()
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        marks = ", ".join("?" for _ in chunk)
        rows = await db().fetch(
            f"SELECT sku FROM offers WHERE tenant_id = ? AND supplier_id = ? AND active = ? AND sku IN ({marks})",
            tenant_id,
            supplier_id,
            True,
            *chunk,
        )
        offered.update(row["sku"] for row in rows)
    return offered
