"""Demo stock: every demo location holds some of what its supplier offers."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from gateway.tenancy.principal import Principal
from suppliers.inventory import services
from suppliers.inventory.schemas import SetItem


async def seed(operator: Principal, world: dict[str, Any]) -> None:
    offered: dict[str, list[str]] = {}
    for offer in world.get("offers", []):
        offered.setdefault(offer["supplier_id"], []).append(offer["sku"])
    rng = random.Random(7)  # noqa: S311 - the same believable city every time, not a secret
    items = [
        SetItem(location_id=location["id"], sku=sku, on_hand=rng.randint(0, 40), sequence=1)
        for location in world.get("locations", [])
        if location.get("kind") != "pickup_point"
        for sku in offered.get(location["supplier_id"], [])
    ]
    if not items:
        world["stocked_levels"] = 0
        return
    await services.set_levels(operator, items)
    world["stocked_levels"] = len(items)

    # a transfer on its way and a hold, so every part of the ledger has something to show
    by_supplier: dict[str, list[str]] = {}
    for location in world.get("locations", []):
        if location.get("kind") != "pickup_point":
            by_supplier.setdefault(location["supplier_id"], []).append(location["id"])
    for supplier_id, locations in by_supplier.items():
        skus = offered.get(supplier_id, [])
        if len(locations) < 2 or not skus:
            continue
        level = next((i for i in items if i.location_id == locations[0] and i.on_hand >= 2), None)
        if level is None:
            continue
        await services.create_transfer(operator, locations[0], locations[1], level.sku, 1, "demo restock")
        await services.reserve(operator.tenant_id, locations[0], level.sku, 1, timedelta(days=1), reference="demo hold")
        break
