"""A small city for storefront tests: a channel with a publishable key bound to an origin,
two stores and a forward warehouse around West Lake, catalogue products for the listings."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import msgspec
from litestar import Litestar
from order_world import City, make_city, near

from gateway.settings import Settings

ORIGIN = "https://shop.partner.example"
SKU_TEA, SKU_BUN, SKU_BIKE_LIGHT, SKU_FAR = "TEA-1", "BUN-1", "LIGHT-1", "FAR-1"


class Shop:
    """The city, plus the channel's publishable key (from `ORIGIN`) and helpers to call as it."""

    def __init__(self, city: City, pk: str, pk_id: str, stores: dict[str, str], suppliers: dict[str, str]) -> None:
        self.city = city
        self.tenant = city.tenant
        self.pk = pk
        self.pk_id = pk_id
        self.stores = stores
        self.suppliers = suppliers

    def browser(self, origin: str = ORIGIN, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.pk}", "Origin": origin, **extra}

    async def get(self, path: str, origin: str = ORIGIN, **kwargs: Any) -> Any:
        headers = {**self.browser(origin), **kwargs.pop("headers", {})}
        return await self.tenant.client.get(path, headers=headers, **kwargs)

    async def post(self, path: str, body: Any = None, origin: str = ORIGIN, **kwargs: Any) -> Any:
        headers = {**self.browser(origin), **kwargs.pop("headers", {})}
        return await self.tenant.client.post(path, json=body, headers=headers, **kwargs)

    async def server(self, method: str, path: str, body: Any = None) -> Any:
        """As the channel's server (its secret key)."""
        return await self.tenant.call(method, path, key=self.city.channel_key, json=body)


async def product(tenant: Any, sku: str, title: str) -> None:
    response = await tenant.call(
        "POST",
        "/v1/products",
        json={"title": title, "description": f"{title}, fresh", "variants": [{"sku": sku, "title": "Standard"}]},
    )
    assert response.status_code == 201, response.text


async def publishable_key(tenant: Any, channel_id: str, origins: list[str]) -> tuple[str, str]:
    response = await tenant.call(
        "POST",
        "/v1/api-keys",
        json={"owner": {"type": "channel", "id": channel_id}, "kind": "publishable", "allowed_origins": origins},
    )
    assert response.status_code == 201, response.text
    return response.json()["key"], response.json()["id"]


async def make_shop(tenant: Any, origins: list[str] | None = None) -> Shop:
    """Store X 1 km north (tea, buns), store Y 3 km east (tea, bike lights), a forward
    warehouse 8 km west (everything but FAR-1); FAR-1 is offered only by a supplier whose one
    store is in Beijing. All always open, in UTC."""
    city = await make_city(tenant)
    x = await city.supplier("X")
    y = await city.supplier("Y")
    w = await city.supplier("W")
    b = await city.supplier("Beijing")
    stores = {
        "x": await city.location(x, *near(km_north=1), radius_km=5, modes=("delivery", "pickup")),
        "y": await city.location(y, *near(km_east=3), radius_km=5),
        "w": await city.location(w, *near(km_east=-8), kind="forward_warehouse", radius_km=20, prep_minutes=30),
        "b": await city.location(b, 39.9, 116.4, radius_km=5),
    }
    offers = {x: [SKU_TEA, SKU_BUN], y: [SKU_TEA, SKU_BIKE_LIGHT], w: [SKU_TEA, SKU_BUN, SKU_BIKE_LIGHT], b: [SKU_FAR]}
    for supplier, skus in offers.items():
        for sku in skus:
            await city.offer(supplier, sku, wholesale=100)
    for sku, title in (
        (SKU_TEA, "Longjing tea"),
        (SKU_BUN, "Steamed bun"),
        (SKU_BIKE_LIGHT, "Bike light"),
        (SKU_FAR, "Beijing duck"),
    ):
        await product(tenant, sku, title)
        await city.listing(sku, price=200)
    pk, pk_id = await publishable_key(tenant, city.channel["id"], origins or [ORIGIN])
    return Shop(city, pk, pk_id, stores, {"x": x, "y": y, "w": w, "b": b})


def home() -> dict[str, float]:
    lat, lng = near()
    return {"lat": lat, "lng": lng}


@contextlib.contextmanager
def app_settings(app: Litestar, **changes: Any) -> Iterator[None]:
    """The session app with other settings for one test (read per request from its state)."""
    saved = dict(app.state)
    settings: Settings = app.state.settings
    app.state.settings = msgspec.structs.replace(settings, **changes)
    if "storefront_allow_localhost" in changes:
        app.state.storefront_allow_localhost = changes["storefront_allow_localhost"]
    try:
        yield
    finally:
        for name, value in saved.items():
            app.state[name] = value
