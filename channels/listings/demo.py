"""Demo data for the listings area (called by gateway.demo after offers).

The demo channel lists every demo SKU some active supplier offers, at about 1.3 times the
highest wholesale price (rounded up to 10 fen), so that any supplier offering the SKU could
fill an order without a loss or a breach of its minimum retail price. One listing is then
repriced, so that a price history has something to show.
"""

from __future__ import annotations

from typing import Any

from channels.listings import services
from channels.listings.schemas import ListingCreate, ListingUpdate
from gateway.money import Money
from gateway.storage import db
from gateway.tenancy.principal import Principal


def _retail(highest_wholesale: int, highest_floor: int) -> int:
    """Wholesale plus a 30 % margin, never below any supplier's floor, rounded up to 10 fen."""
    amount = max(-(-highest_wholesale * 13 // 10), highest_floor)
    return -(-amount // 10) * 10


def _plain(money: Money) -> dict[str, Any]:
    return {"amount": money.amount, "currency": money.currency}


async def seed(operator: Principal, world: dict[str, Any]) -> None:
    """Add this area's demo objects; `world` holds what earlier areas made and receives ours
    (`world["listings"]`: id, channel_id, sku and price, as JSON-like dicts)."""
    made: list[dict[str, Any]] = world.setdefault("listings", [])
    channel_id = world.get("channel_id")
    offered = sorted({offer["sku"] for offer in world.get("offers", [])})
    if channel_id is None or not offered:
        return
    rows = await db().fetch(
        "SELECT o.sku, o.currency, MAX(o.wholesale_amount) AS wholesale, MAX(o.min_retail_amount) AS floor "
        "FROM offers o JOIN suppliers s ON s.tenant_id = o.tenant_id AND s.id = o.supplier_id "
        "WHERE o.tenant_id = ? AND o.active = ? AND s.status = 'active' GROUP BY o.sku, o.currency "
        "ORDER BY o.sku, o.currency",
        operator.tenant_id,
        True,
    )
    priced: dict[str, Money] = {}
    for row in rows:
        if row["sku"] in offered and row["sku"] not in priced:
            priced[row["sku"]] = Money(_retail(row["wholesale"], row["floor"] or 0), row["currency"])
    for sku in offered:
        if sku not in priced:
            continue  # every offer of it is inactive: it cannot be listed
        listing = await services.create(operator, ListingCreate(sku=sku, price=priced[sku], channel_id=channel_id))
        made.append({"id": listing.id, "channel_id": channel_id, "sku": sku, "price": _plain(priced[sku])})
    if made:  # a weekend promotion ended: the first listing went up 10 %
        first = made[0]
        raised = Money(-(-first["price"]["amount"] * 11 // 100) * 10, first["price"]["currency"])
        await services.update(operator, first["id"], ListingUpdate(version=1, price=raised))
        first["price"] = _plain(raised)
