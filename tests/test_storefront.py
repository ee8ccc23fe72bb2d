"""The storefront through the API as a partner's page calls it: a publishable key from its
allowed origin (browsing, pickup points, carts) and the channel's server placing the order."""

from __future__ import annotations

from typing import Any

import pytest
from storefront_world import SKU_BIKE_LIGHT, SKU_BUN, SKU_FAR, SKU_TEA, Shop, home, make_shop

from gateway.storage import db


@pytest.fixture
async def shop(tenant: Any) -> Shop:
    return await make_shop(tenant)


def by_sku(page: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["sku"]: item for item in page["data"]}


async def test_without_a_point_every_listing_with_its_price_and_no_promise(shop: Shop) -> None:
    response = await shop.get("/v1/storefront/products")
    assert response.status_code == 200, response.text
    items = by_sku(response.json())
    assert set(items) == {SKU_TEA, SKU_BUN, SKU_BIKE_LIGHT, SKU_FAR}
    tea = items[SKU_TEA]
    assert tea["price"] == {"amount": 200, "currency": "CNY"}
    assert tea["title"] == "Longjing tea" and tea["variant_title"] == "Standard"
    assert tea["in_stock"] is None and tea["tier"] is None and tea["eta_minutes"] is None


async def test_a_point_shows_what_reaches_it_with_the_promise_of_where_it_would_ship_from(shop: Shop) -> None:
    city, stores, suppliers = shop.city, shop.stores, shop.suppliers
    await city.stock(suppliers["x"], stores["x"], SKU_TEA, 3)  # 1 km: a store, minutes
    await city.stock(suppliers["w"], stores["w"], SKU_BIKE_LIGHT, 3)  # only the warehouse has lights
    # nobody has buns in stock, though two suppliers reaching home sell them
    response = await shop.get("/v1/storefront/products", params=home())
    assert response.status_code == 200, response.text
    items = by_sku(response.json())
    assert SKU_FAR not in items  # sold only in Beijing: cannot reach this point at all
    tea, light, bun = items[SKU_TEA], items[SKU_BIKE_LIGHT], items[SKU_BUN]
    assert tea["in_stock"] is True and tea["tier"] == "near"
    # 10 min prep + 10 min dispatch + 1 km at 20 km/h = 23 min
    assert 22 <= tea["eta_minutes"] <= 24 and tea["promised_at"]
    assert light["in_stock"] is True and light["tier"] == "mid"  # a forward warehouse: hours
    assert light["eta_minutes"] > tea["eta_minutes"]
    assert bun["in_stock"] is False and bun["tier"] is None and bun["eta_minutes"] is None
    # a quote for one tea ships from where the listing said, with the promise it showed
    quote = (
        await shop.server("POST", "/v1/quotes", {"lines": [{"sku": SKU_TEA, "qty": 1}], "destination": home()})
    ).json()
    assert quote["shipments"][0]["eta_minutes"] in (tea["eta_minutes"], tea["eta_minutes"] + 1)


async def test_far_from_every_location_nothing_is_listed(shop: Shop) -> None:
    response = await shop.get("/v1/storefront/products", params={"lat": 22.54, "lng": 114.06})  # Shenzhen
    assert response.status_code == 200 and response.json()["data"] == []


async def test_search_and_pages(shop: Shop) -> None:
    response = await shop.get("/v1/storefront/products", params={"q": "LONGJING"})
    assert [item["sku"] for item in response.json()["data"]] == [SKU_TEA]
    first = (await shop.get("/v1/storefront/products", params={"limit": 2})).json()
    assert len(first["data"]) == 2 and first["has_more"] is True
    rest = (await shop.get("/v1/storefront/products", params={"limit": 2, "after": first["next_cursor"]})).json()
    assert len(rest["data"]) == 2 and rest["has_more"] is False
    assert {i["sku"] for i in first["data"] + rest["data"]} == {SKU_TEA, SKU_BUN, SKU_BIKE_LIGHT, SKU_FAR}
    # with a point, pages are filled with products that reach it
    point = {**home(), "limit": 1}
    seen: list[str] = []
    page = (await shop.get("/v1/storefront/products", params=point)).json()
    seen += [i["sku"] for i in page["data"]]
    while page["has_more"]:
        page = (await shop.get("/v1/storefront/products", params={**point, "after": page["next_cursor"]})).json()
        seen += [i["sku"] for i in page["data"]]
    assert sorted(seen) == sorted([SKU_TEA, SKU_BUN, SKU_BIKE_LIGHT])


async def test_lat_without_lng_names_the_field(shop: Shop) -> None:
    response = await shop.get("/v1/storefront/products", params={"lat": 30.2})
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "lng"


async def test_product_detail_and_pickup(shop: Shop) -> None:
    city, stores, suppliers = shop.city, shop.stores, shop.suppliers
    await city.stock(suppliers["x"], stores["x"], SKU_TEA, 3)
    tea = by_sku((await shop.get("/v1/storefront/products")).json())[SKU_TEA]
    detail = await shop.get(f"/v1/storefront/products/{tea['id']}", params=home())
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert body["description"] == "Longjing tea, fresh" and body["in_stock"] is True and body["tier"] == "near"
    # store X takes pickups: ready there after its 10 minutes of preparation
    points = (await shop.get("/v1/storefront/pickup-points", params=home())).json()
    assert [p["id"] for p in points["data"]] == [stores["x"]]
    assert 0.9 < points["data"][0]["distance_km"] < 1.1
    at_point = by_sku((await shop.get("/v1/storefront/products", params={"pickup_point_id": stores["x"]})).json())
    assert at_point[SKU_TEA]["in_stock"] is True and at_point[SKU_TEA]["eta_minutes"] == 10


async def test_another_channels_and_tenants_products_are_not_found(shop: Shop, new_tenant: Any) -> None:
    tea = by_sku((await shop.get("/v1/storefront/products")).json())[SKU_TEA]
    other = await make_shop(await new_tenant("Other"))
    unknown = tea["id"][:-4] + "zzzz"
    on_theirs = await other.get(f"/v1/storefront/products/{tea['id']}")
    on_none = await other.get(f"/v1/storefront/products/{unknown}")
    assert on_theirs.status_code == on_none.status_code == 404
    assert on_theirs.json()["detail"].replace(tea["id"], "x") == on_none.json()["detail"].replace(unknown, "x")


# -- carts ---------------------------------------------------------------------------------------


async def stocked(shop: Shop, units: int = 10) -> None:
    await shop.city.stock(shop.suppliers["x"], shop.stores["x"], SKU_TEA, units)
    await shop.city.stock(shop.suppliers["x"], shop.stores["x"], SKU_BUN, units)


async def new_cart(shop: Shop, lines: list[dict[str, Any]] | None = None, **kwargs: Any) -> Any:
    body = {"lines": lines or [{"sku": SKU_TEA, "qty": 2}, {"sku": SKU_BUN, "qty": 1}], "destination": home()}
    return await shop.post("/v1/storefront/carts", body, **kwargs)


async def test_cart_holds_stock_and_the_channels_server_orders_it(shop: Shop) -> None:
    await stocked(shop)
    response = await new_cart(shop)
    assert response.status_code == 201, response.text
    cart = response.json()
    assert cart["id"].startswith("crt_") and cart["client_secret"].startswith("cs_")
    assert cart["status"] == "open" and cart["total"] == {"amount": 600, "currency": "CNY"}
    assert cart["shipments"][0]["tier"] == "near" and "location_id" not in cart["shipments"][0]
    assert await shop.city.level(shop.stores["x"], SKU_TEA) == {"on_hand": 10, "reserved": 2, "committed": 0}
    seen = await shop.get(f"/v1/storefront/carts/{cart['id']}", params={"client_secret": cart["client_secret"]})
    assert seen.status_code == 200 and seen.json()["total"] == cart["total"] and "client_secret" not in seen.json()

    order = await shop.server(
        "POST",
        "/v1/orders",
        {"cart_id": cart["id"], "client_secret": cart["client_secret"], "customer": {"name": "Li Lei"}},
    )
    assert order.status_code == 201, order.text
    placed = order.json()
    assert {(line["sku"], line["qty"]) for line in placed["lines"]} == {(SKU_TEA, 2), (SKU_BUN, 1)}
    assert [f["location_id"] for f in placed["fulfilment_orders"]] == [shop.stores["x"]]
    assert placed["customer"]["name"] == "Li Lei"
    assert await shop.city.level(shop.stores["x"], SKU_TEA) == {"on_hand": 10, "reserved": 0, "committed": 2}
    after = (
        await shop.get(f"/v1/storefront/carts/{cart['id']}", params={"client_secret": cart["client_secret"]})
    ).json()
    assert after["status"] == "ordered" and after["order_id"] == placed["id"]
    again = await shop.server("POST", "/v1/orders", {"cart_id": cart["id"], "client_secret": cart["client_secret"]})
    assert again.status_code == 409 and again.json()["type"].endswith("cart-closed")


async def test_a_cart_needs_its_own_secret(shop: Shop) -> None:
    await stocked(shop)
    mine = (await new_cart(shop)).json()
    theirs = (await new_cart(shop, [{"sku": SKU_TEA, "qty": 1}])).json()
    wrong = theirs["client_secret"]
    for response in (
        await shop.get(f"/v1/storefront/carts/{mine['id']}", params={"client_secret": wrong}),
        await shop.get(f"/v1/storefront/carts/{mine['id']}"),
        await shop.post(f"/v1/storefront/carts/{mine['id']}/release", {"client_secret": wrong}),
        await shop.server("POST", "/v1/orders", {"cart_id": mine["id"], "client_secret": wrong}),
    ):
        assert response.status_code == 403, response.text
        assert response.json()["type"].endswith("invalid-client-secret")
        assert response.json()["errors"][0]["field"] == "client_secret"
    assert not await db().fetch("SELECT id FROM orders WHERE tenant_id = ?", shop.tenant.id)
    # the cart is untouched and still holds its units
    assert await shop.city.level(shop.stores["x"], SKU_TEA) == {"on_hand": 10, "reserved": 3, "committed": 0}


async def test_a_cart_of_another_channel_or_tenant_is_not_found(shop: Shop, new_tenant: Any) -> None:
    await stocked(shop)
    cart = (await new_cart(shop)).json()
    other_channel, other_key = await shop.tenant.channel("Another partner")
    elsewhere = await make_shop(await new_tenant("Elsewhere"))
    body = {"cart_id": cart["id"], "client_secret": cart["client_secret"]}
    for key, tenant in ((other_key, shop.tenant), (elsewhere.city.channel_key, elsewhere.tenant)):
        response = await tenant.call("POST", "/v1/orders", key=key, json=body)
        assert response.status_code == 404, response.text
        assert response.json()["errors"][0]["field"] == "cart_id"


async def test_release_gives_the_stock_back(shop: Shop) -> None:
    await stocked(shop)
    cart = (await new_cart(shop)).json()
    released = await shop.post(f"/v1/storefront/carts/{cart['id']}/release", {"client_secret": cart["client_secret"]})
    assert released.status_code == 200 and released.json()["status"] == "released"
    assert await shop.city.level(shop.stores["x"], SKU_TEA) == {"on_hand": 10, "reserved": 0, "committed": 0}
    again = await shop.post(f"/v1/storefront/carts/{cart['id']}/release", {"client_secret": cart["client_secret"]})
    assert again.status_code == 409 and again.json()["type"].endswith("cart-closed")


async def test_out_of_stock_cart_holds_nothing(shop: Shop) -> None:
    await stocked(shop, units=1)
    response = await new_cart(shop, [{"sku": SKU_TEA, "qty": 5}])
    assert response.status_code == 409 and response.json()["type"].endswith("out-of-stock")
    assert not await db().fetch("SELECT id FROM storefront_carts WHERE tenant_id = ?", shop.tenant.id)


async def test_the_channels_server_lists_carts_a_publishable_key_cannot(shop: Shop) -> None:
    await stocked(shop)
    cart = (await new_cart(shop)).json()
    listed = await shop.server("GET", "/v1/storefront/carts")
    assert listed.status_code == 200 and [c["id"] for c in listed.json()["data"]] == [cart["id"]]
    assert (await shop.get("/v1/storefront/carts")).status_code == 403
