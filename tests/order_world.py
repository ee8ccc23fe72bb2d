"""A city to route orders in, built with plain SQL (suppliers, locations, offers, listings) and
stocked through the ledger's API, so the order tests depend only on what they test."""

from __future__ import annotations

from typing import Any

import msgspec
from inventory_world import add_supplier

from gateway.clock import utcnow
from gateway.ids import new_id
from gateway.storage import db

#: Hangzhou, West Lake
CENTRE = (30.2590, 120.1490)


async def bump_revision(tenant_id: str) -> int:
    """What every location write does: the tenant's routing revision, for index reloads."""
    rows = await db().fetch(
        "INSERT INTO routing_revisions (tenant_id, revision) VALUES (?, 1) ON CONFLICT (tenant_id) "
        "DO UPDATE SET revision = routing_revisions.revision + 1 RETURNING revision",
        tenant_id,
    )
    return int(rows[0]["revision"])


class City:
    def __init__(self, tenant: Any, channel: dict[str, Any], channel_key: str) -> None:
        self.tenant = tenant
        self.channel = channel
        self.channel_key = channel_key
        self.supplier_keys: dict[str, str] = {}
        self.sequence = 0

    async def supplier(self, name: str = "Supplier") -> str:
        supplier_id = await add_supplier(self.tenant.id, name)
        self.supplier_keys[supplier_id] = await self.tenant.key("supplier", supplier_id)
        return supplier_id

    async def location(
        self,
        supplier_id: str,
        lat: float,
        lng: float,
        *,
        kind: str = "store",
        radius_km: float = 10.0,
        modes: tuple[str, ...] = ("delivery",),
        prep_minutes: int = 10,
        hours: dict[str, list[list[str]]] | None = None,
        timezone: str = "UTC",
        capacity: int | None = None,
        status: str = "active",
    ) -> str:
        location_id = new_id("loc")
        now = utcnow()
        async with db().transaction():
            revision = await bump_revision(self.tenant.id)
            await db().fetch(
                "INSERT INTO locations (id, tenant_id, supplier_id, name, kind, lat, lng, address, service_radius_km, "
                "modes, prep_minutes, opening_hours, timezone, daily_capacity, status, version, revision, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, '{}', ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
                location_id,
                self.tenant.id,
                supplier_id,
                f"{kind} {location_id[-4:]}",
                kind,
                lat,
                lng,
                radius_km,
                msgspec.json.encode(list(modes)).decode(),
                prep_minutes,
                msgspec.json.encode(hours or {}).decode(),
                timezone,
                capacity,
                status,
                revision,
                now,
                now,
            )
        return location_id

    async def offer(self, supplier_id: str, sku: str, wholesale: int = 100, currency: str = "CNY") -> None:
        now = utcnow()
        await db().fetch(
            "INSERT INTO offers (id, tenant_id, supplier_id, sku, wholesale_amount, currency, min_retail_amount, active, "
            "version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, 1, ?, ?)",
            new_id("off"),
            self.tenant.id,
            supplier_id,
            sku,
            wholesale,
            currency,
            True,
            now,
            now,
        )

    async def listing(self, sku: str, price: int = 200, currency: str = "CNY", channel_id: str | None = None) -> None:
        now = utcnow()
        await db().fetch(
            "INSERT INTO listings (id, tenant_id, channel_id, sku, price_amount, currency, active, version, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
            new_id("lst"),
            self.tenant.id,
            channel_id or self.channel["id"],
            sku,
            price,
            currency,
            True,
            now,
            now,
        )

    async def stock(self, supplier_id: str, location_id: str, sku: str, on_hand: int) -> None:
        self.sequence += 1
        response = await self.tenant.call(
            "POST",
            "/v1/inventory/set",
            key=self.supplier_keys[supplier_id],
            json={"items": [{"location_id": location_id, "sku": sku, "on_hand": on_hand, "sequence": self.sequence}]},
        )
        assert response.status_code == 200 and response.json()["results"][0]["status"] == "applied", response.text

    async def level(self, location_id: str, sku: str) -> dict[str, Any]:
        rows = await db().fetch(
            "SELECT on_hand, reserved, committed FROM inventory_levels WHERE tenant_id = ? AND location_id = ? AND sku = ?",
            self.tenant.id,
            location_id,
            sku,
        )
        return dict(rows[0])

    async def movements(self, location_id: str, sku: str) -> list[dict[str, Any]]:
        rows = await db().fetch(
            "SELECT reason, delta_on_hand, delta_reserved, delta_committed, reference FROM inventory_movements "
            "WHERE tenant_id = ? AND location_id = ? AND sku = ? ORDER BY id",
            self.tenant.id,
            location_id,
            sku,
        )
        return [dict(row) for row in rows]

    async def post(self, path: str, body: Any = None, key: str | None = None, **kwargs: Any) -> Any:
        return await self.tenant.call("POST", path, key=key or self.channel_key, json=body, **kwargs)

    async def get(self, path: str, key: str | None = None) -> Any:
        return await self.tenant.call("GET", path, key=key or self.channel_key)


async def make_city(tenant: Any) -> City:
    channel, key = await tenant.channel("Pedal City")
    return City(tenant, channel, key)


def near(km_north: float = 0.0, km_east: float = 0.0) -> tuple[float, float]:
    """A point `km_north` and `km_east` of the centre (small distances: flat enough)."""
    import math

    lat, lng = CENTRE
    return lat + km_north / 111.195, lng + km_east / (111.195 * math.cos(math.radians(lat)))
