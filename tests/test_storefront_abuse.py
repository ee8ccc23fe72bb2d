"""What keeps a script from locking a city's stock with carts: caps per cart, per key and per
client address; carts that expire give their stock back; a cart answers only to its secret."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from litestar import Litestar
from storefront_world import ORIGIN, SKU_BUN, SKU_TEA, Shop, app_settings, home, make_shop

from gateway.storage import db
from suppliers.inventory.services import expire_reservations


@pytest.fixture
async def shop(tenant: Any) -> Shop:
    made = await make_shop(tenant)
    await made.city.stock(made.suppliers["x"], made.stores["x"], SKU_TEA, 100)
    await made.city.stock(made.suppliers["x"], made.stores["x"], SKU_BUN, 100)
    return made


def one_tea(qty: int = 1) -> dict[str, Any]:
    return {"lines": [{"sku": SKU_TEA, "qty": qty}], "destination": home()}


async def from_address(app: Litestar, shop: Shop, address: str, body: dict[str, Any]) -> httpx.Response:
    """A request from another client address (the ASGI transport's `client`)."""
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.post("/v1/storefront/carts", json=body, headers=shop.browser())


async def test_lines_and_units_per_cart_are_capped(shop: Shop, app: Litestar) -> None:
    with app_settings(app, storefront_max_cart_lines=1, storefront_max_cart_units=5):
        two_lines = {"lines": [{"sku": SKU_TEA, "qty": 1}, {"sku": SKU_BUN, "qty": 1}], "destination": home()}
        response = await shop.post("/v1/storefront/carts", two_lines)
        assert response.status_code == 409 and response.json()["type"].endswith("cart-too-large")
        assert response.json()["errors"][0]["field"] == "lines"
        response = await shop.post("/v1/storefront/carts", one_tea(6))
        assert response.status_code == 409 and "at most 5 units" in response.json()["detail"]
        assert (await shop.post("/v1/storefront/carts", one_tea(5))).status_code == 201
    assert await shop.city.level(shop.stores["x"], SKU_TEA) == {"on_hand": 100, "reserved": 5, "committed": 0}


async def test_open_carts_per_client_address_are_capped(shop: Shop, app: Litestar) -> None:
    with app_settings(app, storefront_max_open_carts_per_address=3, storefront_max_open_carts_per_key=100):
        made = [await from_address(app, shop, "203.0.113.7", one_tea()) for _ in range(3)]
        assert [r.status_code for r in made] == [201, 201, 201]
        refused = await from_address(app, shop, "203.0.113.7", one_tea())
        assert refused.status_code == 429, refused.text
        assert refused.json()["type"].endswith("too-many-carts")
        assert 500 <= int(refused.headers["retry-after"]) <= 600  # when the first cart lapses
        # its origin may read the refusal (the widget shows it)
        assert refused.headers["access-control-allow-origin"] == ORIGIN
        # another address is not held back by it; an IPv6 address counts by its /64
        assert (await from_address(app, shop, "198.51.100.9", one_tea())).status_code == 201
        for host in ("2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2::3"):
            assert (await from_address(app, shop, host, one_tea())).status_code == 201
        assert (await from_address(app, shop, "2001:db8:1:2:ffff::9", one_tea())).status_code == 429
        # releasing one frees its place
        cart = made[0].json()
        released = await shop.post(
            f"/v1/storefront/carts/{cart['id']}/release", {"client_secret": cart["client_secret"]}
        )
        assert released.status_code == 200
        assert (await from_address(app, shop, "203.0.113.7", one_tea())).status_code == 201
    # held: 3 + 1 + 3 + 1 - 1 released = 7 units
    assert await shop.city.level(shop.stores["x"], SKU_TEA) == {"on_hand": 100, "reserved": 7, "committed": 0}


async def test_open_carts_per_key_are_capped_whatever_the_address(shop: Shop, app: Litestar) -> None:
    with app_settings(app, storefront_max_open_carts_per_key=2, storefront_max_open_carts_per_address=100):
        assert (await from_address(app, shop, "192.0.2.1", one_tea())).status_code == 201
        assert (await from_address(app, shop, "192.0.2.2", one_tea())).status_code == 201
        refused = await from_address(app, shop, "192.0.2.3", one_tea())
        assert refused.status_code == 429 and "This key" in refused.json()["detail"]
    assert len(await db().fetch("SELECT id FROM storefront_carts WHERE tenant_id = ?", shop.tenant.id)) == 2


async def test_an_expired_cart_releases_its_stock_and_cannot_be_ordered(shop: Shop, app: Litestar) -> None:
    with app_settings(app, storefront_max_open_carts_per_address=1):
        cart = (await shop.post("/v1/storefront/carts", one_tea(4))).json()
        assert (await shop.post("/v1/storefront/carts", one_tea())).status_code == 429
        assert await shop.city.level(shop.stores["x"], SKU_TEA) == {"on_hand": 100, "reserved": 4, "committed": 0}
        # the clock moves past the cart's expiry; the reservation sweep every process runs comes by
        quote_id = (await db().fetch("SELECT quote_id FROM storefront_carts WHERE id = ?", cart["id"]))[0]["quote_id"]
        await db().fetch("UPDATE quotes SET expires_at = created_at WHERE id = ?", quote_id)
        await db().fetch("UPDATE storefront_carts SET expires_at = created_at WHERE id = ?", cart["id"])
        await db().fetch("UPDATE reservations SET expires_at = created_at WHERE reference = ?", quote_id)
        assert await expire_reservations() >= 1
        assert await shop.city.level(shop.stores["x"], SKU_TEA) == {"on_hand": 100, "reserved": 0, "committed": 0}
        seen = await shop.get(f"/v1/storefront/carts/{cart['id']}", params={"client_secret": cart["client_secret"]})
        assert seen.json()["status"] == "expired"
        order = await shop.server("POST", "/v1/orders", {"cart_id": cart["id"], "client_secret": cart["client_secret"]})
        assert order.status_code == 409 and order.json()["type"].endswith("cart-expired")
        assert order.json()["errors"][0]["field"] == "cart_id"
        # an expired cart no longer counts against the address
        assert (await shop.post("/v1/storefront/carts", one_tea())).status_code == 201
    assert not await db().fetch("SELECT id FROM orders WHERE tenant_id = ?", shop.tenant.id)


async def test_another_carts_secret_is_refused(shop: Shop, new_tenant: Any) -> None:
    mine = (await shop.post("/v1/storefront/carts", one_tea())).json()
    other = await make_shop(await new_tenant("Other city"))
    await other.city.stock(other.suppliers["x"], other.stores["x"], SKU_TEA, 5)
    theirs = (await other.post("/v1/storefront/carts", one_tea())).json()
    # the other tenant's secret, and the secret of another cart of this channel
    same_channel = (await shop.post("/v1/storefront/carts", one_tea())).json()
    for secret in (theirs["client_secret"], same_channel["client_secret"]):
        response = await shop.server("POST", "/v1/orders", {"cart_id": mine["id"], "client_secret": secret})
        assert response.status_code == 403 and response.json()["errors"][0]["field"] == "client_secret"
    # and a cart of another tenant, even with its own secret, does not exist here
    response = await shop.server(
        "POST", "/v1/orders", {"cart_id": theirs["id"], "client_secret": theirs["client_secret"]}
    )
    assert response.status_code == 404
    assert not await db().fetch("SELECT id FROM orders WHERE tenant_id IN (?, ?)", shop.tenant.id, other.tenant.id)
