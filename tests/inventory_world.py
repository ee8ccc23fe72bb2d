"""A supplier with locations and offers, made with plain SQL so the ledger's tests do not
depend on the catalogue, locations and offers endpoints."""

from __future__ import annotations

from typing import Any

from gateway.clock import utcnow
from gateway.ids import new_id
from gateway.storage import db


async def add_location(tenant_id: str, supplier_id: str, name: str = "Store") -> str:
    location_id = new_id("loc")
    now = utcnow()
    await db().fetch(
        "INSERT INTO locations (id, tenant_id, supplier_id, name, kind, lat, lng, address, service_radius_km, modes, "
        "prep_minutes, opening_hours, timezone, daily_capacity, status, version, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, 'store', 30.27, 120.15, '{}', 5.0, '[\"delivery\"]', 10, '{}', 'UTC', NULL, 'active', 1, ?, ?)",
        location_id,
        tenant_id,
        supplier_id,
        name,
        now,
        now,
    )
    return location_id


async def add_offer(tenant_id: str, supplier_id: str, sku: str, active: bool = True) -> None:
    now = utcnow()
    await db().fetch(
        "INSERT INTO offers (id, tenant_id, supplier_id, sku, wholesale_amount, currency, min_retail_amount, active, "
        "version, created_at, updated_at) VALUES (?, ?, ?, ?, 100, 'CNY', NULL, ?, 1, ?, ?)",
        new_id("off"),
        tenant_id,
        supplier_id,
        sku,
        active,
        now,
        now,
    )


class World:
    """A tenant, one supplier (with its key), two of its locations, skus it offers."""

    def __init__(self, tenant: Any, supplier: dict[str, Any], key: str, locations: list[str], skus: list[str]) -> None:
        self.tenant = tenant
        self.supplier = supplier
        self.key = key
        self.locations = locations
        self.skus = skus

    async def set(self, items: list[dict[str, Any]], key: str | None = None, **kwargs: Any) -> Any:
        return await self.tenant.call("POST", "/v1/inventory/set", key=key or self.key, json={"items": items}, **kwargs)

    async def level(self, location: str, sku: str) -> dict[str, Any]:
        page = (
            await self.tenant.call("GET", f"/v1/inventory/levels?location_id={location}&sku={sku}", key=self.key)
        ).json()
        return page["data"][0]


async def make_world(tenant: Any, skus: int = 3, locations: int = 2) -> World:
    supplier, key = await tenant.supplier("Stocked supplier")
    location_ids = [await add_location(tenant.id, supplier["id"], f"Store {i}") for i in range(locations)]
    names = [f"SKU-{new_id('x')[-8:].upper()}-{i}" for i in range(skus)]
    for sku in names:
        await add_offer(tenant.id, supplier["id"], sku)
    return World(tenant, supplier, key, location_ids, names)


async def add_supplier(tenant_id: str, name: str = "Bench supplier") -> str:
    supplier_id = new_id("sup")
    now = utcnow()
    await db().fetch(
        "INSERT INTO suppliers (id, tenant_id, name, status, version, created_at, updated_at) "
        "VALUES (?, ?, ?, 'active', 1, ?, ?)",
        supplier_id,
        tenant_id,
        name,
        now,
        now,
    )
    return supplier_id
