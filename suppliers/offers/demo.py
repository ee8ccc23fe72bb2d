"""Demo data for the offers area (called by gateway.demo in order: catalogue, locations, offers, inventory).

Each demo supplier offers about two thirds of the catalogue's SKUs, overlapping with the
others (so that routing has a choice of suppliers for the same SKU), at CNY wholesale prices
that differ a little by supplier; every other offer carries a minimum retail price.
"""

from __future__ import annotations

import zlib
from typing import Any

from gateway.money import Money
from gateway.tenancy.principal import Principal
from suppliers.offers import services
from suppliers.offers.schemas import OfferCreate

CURRENCY = "CNY"


def _skus(world: dict[str, Any]) -> list[str]:
    """The catalogue seed's SKUs, whether it lists them as strings or as objects with a `sku`."""
    found: list[str] = []
    for item in world.get("skus") or []:
        sku = item.get("sku") if isinstance(item, dict) else item
        if isinstance(sku, str) and sku not in found:
            found.append(sku)
    return found


def _base_price(sku: str) -> int:
    """A stable wholesale price in fen (¥5.00–¥98.90) for a SKU, when the catalogue gives none."""
    return 500 + zlib.crc32(sku.encode()) % 9390


async def seed(operator: Principal, world: dict[str, Any]) -> None:
    """Add this area's demo objects; `world` holds what earlier areas made and receives ours."""
    made: list[dict[str, Any]] = world.setdefault("offers", [])
    skus = _skus(world)
    if not skus:
        return  # no catalogue yet: nothing to offer
    for index, supplier in enumerate(world.get("suppliers", [])):
        for position, sku in enumerate(skus):
            if len(skus) > 2 and (position + index) % 3 == 2:
                continue  # each supplier skips a third, a different third each
            wholesale = _base_price(sku) + 10 * index
            offer = await services.create(
                operator,
                OfferCreate(
                    supplier_id=supplier["id"],
                    sku=sku,
                    wholesale_price=Money(wholesale, CURRENCY),
                    min_retail_price=Money(wholesale * 13 // 10, CURRENCY) if position % 2 == 0 else None,
                ),
            )
            made.append({"id": offer.id, "supplier_id": offer.supplier_id, "sku": offer.sku})
