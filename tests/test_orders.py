"""Quotes, orders and fulfilment end to end through the API, on the real database."""

from __future__ import annotations

from typing import Any

import pytest
from order_world import City, make_city, near

from gateway.storage import db
from suppliers.fulfilment.services import expire_acceptance
from suppliers.inventory.services import expire_reservations

SKU_A, SKU_B = "APPLE-1", "BREAD-1"


@pytest.fixture
async def city(tenant: Any) -> City:
    return await make_city(tenant)


async def two_stores(city: City) -> tuple[str, str, str, str]:
    """Supplier X 1 km north, supplier Y 3 km east; both offer A and B; the channel lists both."""
    x = await city.supplier("X")
    y = await city.supplier("Y")
    near_store = await city.location(x, *near(km_north=1))
    far_store = await city.location(y, *near(km_east=3))
    for supplier in (x, y):
        for sku in (SKU_A, SKU_B):
            await city.offer(supplier, sku, wholesale=100)
    for sku in (SKU_A, SKU_B):
        await city.listing(sku, price=200)
    return x, y, near_store, far_store


def destination() -> dict[str, float]:
    lat, lng = near()
    return {"lat": lat, "lng": lng}


async def test_quote_routes_to_nearest_and_holds_stock(city: City) -> None:
    x, y, near_store, far_store = await two_stores(city)
    await city.stock(x, near_store, SKU_A, 5)
    await city.stock(y, far_store, SKU_A, 5)
    response = await city.post("/v1/quotes", {"lines": [{"sku": SKU_A, "qty": 2}], "destination": destination()})
    assert response.status_code == 201, response.text
    quote = response.json()
    assert [s["location_id"] for s in quote["shipments"]] == [near_store]
    assert quote["total"] == {"amount": 400, "currency": "CNY"}
    assert quote["status"] == "open"
    assert 0.9 < quote["shipments"][0]["distance_km"] < 1.1
    assert await city.level(near_store, SKU_A) == {"on_hand": 5, "reserved": 2, "committed": 0}


async def test_one_location_that_fills_everything_beats_a_nearer_split(city: City) -> None:
    x, y, near_store, far_store = await two_stores(city)
    await city.stock(x, near_store, SKU_A, 5)  # the near store has only A
    await city.stock(y, far_store, SKU_A, 5)
    await city.stock(y, far_store, SKU_B, 5)
    lines = [{"sku": SKU_A, "qty": 1}, {"sku": SKU_B, "qty": 1}]
    quote = (await city.post("/v1/quotes", {"lines": lines, "destination": destination()})).json()
    assert [s["location_id"] for s in quote["shipments"]] == [far_store]


async def test_split_when_no_location_fills_the_order(city: City) -> None:
    x, y, near_store, far_store = await two_stores(city)
    await city.stock(x, near_store, SKU_A, 5)
    await city.stock(y, far_store, SKU_B, 5)
    lines = [{"sku": SKU_A, "qty": 1}, {"sku": SKU_B, "qty": 1}]
    quote = (await city.post("/v1/quotes", {"lines": lines, "destination": destination()})).json()
    by_location = {s["location_id"]: s["lines"] for s in quote["shipments"]}
    assert by_location == {near_store: [{"sku": SKU_A, "qty": 1}], far_store: [{"sku": SKU_B, "qty": 1}]}


async def test_out_of_stock_and_no_location_take_nothing(city: City) -> None:
    x, _, near_store, _ = await two_stores(city)
    await city.stock(x, near_store, SKU_A, 1)
    response = await city.post("/v1/quotes", {"lines": [{"sku": SKU_A, "qty": 2}], "destination": destination()})
    assert response.status_code == 409
    assert response.json()["type"].endswith("out-of-stock")
    far_away = {"lat": 39.9, "lng": 116.4}  # Beijing: no location reaches it
    response = await city.post("/v1/orders", {"lines": [{"sku": SKU_A, "qty": 1}], "destination": far_away})
    assert response.status_code == 409
    assert response.json()["type"].endswith("no-location")
    assert await city.level(near_store, SKU_A) == {"on_hand": 1, "reserved": 0, "committed": 0}
    assert not await db().fetch("SELECT id FROM orders WHERE tenant_id = ?", city.tenant.id)


async def test_unlisted_sku_names_the_line(city: City) -> None:
    await two_stores(city)
    response = await city.post(
        "/v1/quotes",
        {"lines": [{"sku": SKU_A, "qty": 1}, {"sku": "NOT-LISTED", "qty": 1}], "destination": destination()},
    )
    assert response.status_code == 409
    assert [e["field"] for e in response.json()["errors"]] == ["lines[1].sku"]


async def test_order_from_quote_commits_the_held_units_once(city: City) -> None:
    x, _, near_store, _ = await two_stores(city)
    await city.stock(x, near_store, SKU_A, 5)
    quote = (await city.post("/v1/quotes", {"lines": [{"sku": SKU_A, "qty": 2}], "destination": destination()})).json()
    response = await city.post(
        "/v1/orders", {"quote_id": quote["id"], "customer": {"name": "Li Lei", "phone": "+86 138 0000 0000"}}
    )
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "pending"
    assert order["customer"]["name"] == "Li Lei" and order["customer"]["phone"] == "+86 138 0000 0000"
    [share] = order["fulfilment_orders"]
    assert share["location_id"] == near_store and share["status"] == "pending"
    assert share["routing"]["rule"] in {"only_candidate", "fewest_shipments", "fastest_promise", "nearest"}
    assert await city.level(near_store, SKU_A) == {"on_hand": 5, "reserved": 0, "committed": 2}
    again = await city.post("/v1/orders", {"quote_id": quote["id"]})
    assert again.status_code == 409
    assert (await city.get(f"/v1/quotes/{quote['id']}")).json()["status"] == "ordered"
    # at rest the consumer is ciphertext
    [stored] = await db().fetch("SELECT customer FROM orders WHERE id = ?", order["id"])
    assert "Li Lei" not in stored["customer"]


async def test_expired_quote_releases_and_cannot_be_ordered(city: City) -> None:
    x, _, near_store, _ = await two_stores(city)
    await city.stock(x, near_store, SKU_A, 5)
    quote = (await city.post("/v1/quotes", {"lines": [{"sku": SKU_A, "qty": 2}], "destination": destination()})).json()
    await db().fetch("UPDATE quotes SET expires_at = created_at WHERE id = ?", quote["id"])
    await db().fetch("UPDATE reservations SET expires_at = created_at WHERE reference = ?", quote["id"])
    assert await expire_reservations() >= 1
    assert await city.level(near_store, SKU_A) == {"on_hand": 5, "reserved": 0, "committed": 0}
    response = await city.post("/v1/orders", {"quote_id": quote["id"]})
    assert response.status_code == 409 and response.json()["type"].endswith("quote-expired")


async def test_direct_order_is_idempotent_and_splits_money(city: City) -> None:
    x, _, near_store, _ = await two_stores(city)
    await city.stock(x, near_store, SKU_A, 5)
    body = {"lines": [{"sku": SKU_A, "qty": 3}], "destination": destination(), "reference": "PC-1"}
    first = await city.post("/v1/orders", body, headers={"Idempotency-Key": "order-1"})
    second = await city.post("/v1/orders", body, headers={"Idempotency-Key": "order-1"})
    assert first.status_code == 201 and second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert await city.level(near_store, SKU_A) == {"on_hand": 5, "reserved": 0, "committed": 3}
    order = first.json()
    split = order["split"]
    assert order["total"]["amount"] == 600
    assert split["supplier_amount"]["amount"] == 300  # 3 x wholesale 100
    assert split["platform_fee"]["amount"] == 30  # 5% of 600
    assert split["channel_margin"]["amount"] == 270
    assert sum(split[k]["amount"] for k in split) == order["total"]["amount"]


async def test_reject_reroutes_to_next_nearest_and_the_ledger_shows_it(city: City) -> None:
    x, y, near_store, far_store = await two_stores(city)
    await city.stock(x, near_store, SKU_A, 5)
    await city.stock(y, far_store, SKU_A, 5)
    order = (await city.post("/v1/orders", {"lines": [{"sku": SKU_A, "qty": 2}], "destination": destination()})).json()
    [first] = order["fulfilment_orders"]
    assert first["location_id"] == near_store
    response = await city.post(
        f"/v1/fulfilment-orders/{first['id']}/reject", {"reason": "out of apples"}, key=city.supplier_keys[x]
    )
    assert response.status_code == 200, response.text
    rejected = response.json()
    assert rejected["status"] == "rejected" and rejected["replaced_by"]
    order = (await city.get(f"/v1/orders/{order['id']}")).json()
    live = [f for f in order["fulfilment_orders"] if f["status"] != "rejected"]
    assert [f["location_id"] for f in live] == [far_store]
    assert live[0]["routing"]["replaces"] == first["id"] and live[0]["attempt"] == 2
    assert await city.level(near_store, SKU_A) == {"on_hand": 5, "reserved": 0, "committed": 0}
    assert await city.level(far_store, SKU_A) == {"on_hand": 5, "reserved": 0, "committed": 2}
    reasons = [m["reason"] for m in await city.movements(near_store, SKU_A)]
    assert reasons[-2:] == ["committed", "cancelled"]
    assert (await city.movements(far_store, SKU_A))[-1]["reason"] == "committed"
    # the other supplier cannot see or touch it
    assert (await city.get(f"/v1/fulfilment-orders/{first['id']}", key=city.supplier_keys[y])).status_code == 404


async def test_missed_acceptance_deadline_reroutes(city: City) -> None:
    x, y, near_store, far_store = await two_stores(city)
    await city.stock(x, near_store, SKU_A, 5)
    await city.stock(y, far_store, SKU_A, 5)
    order = (await city.post("/v1/orders", {"lines": [{"sku": SKU_A, "qty": 1}], "destination": destination()})).json()
    [first] = order["fulfilment_orders"]
    await db().fetch("UPDATE fulfilment_orders SET accept_by = created_at WHERE id = ?", first["id"])
    assert await expire_acceptance() >= 1  # the database is shared: other tests' orders may be due too
    order = (await city.get(f"/v1/orders/{order['id']}")).json()
    statuses = {f["location_id"]: f["status"] for f in order["fulfilment_orders"]}
    assert statuses == {near_store: "rejected", far_store: "pending"}


async def test_rejection_with_nowhere_to_go_fails_the_order(city: City) -> None:
    x, _, near_store, _ = await two_stores(city)
    await city.stock(x, near_store, SKU_A, 5)
    order = (await city.post("/v1/orders", {"lines": [{"sku": SKU_A, "qty": 1}], "destination": destination()})).json()
    [first] = order["fulfilment_orders"]
    await city.post(f"/v1/fulfilment-orders/{first['id']}/reject", {"reason": "closed"}, key=city.supplier_keys[x])
    order = (await city.get(f"/v1/orders/{order['id']}")).json()
    assert order["status"] == "failed"
    assert await city.level(near_store, SKU_A) == {"on_hand": 5, "reserved": 0, "committed": 0}


async def test_delivery_life_cycle_and_scorecard(city: City) -> None:
    x, _, near_store, _ = await two_stores(city)
    await city.stock(x, near_store, SKU_A, 5)
    order = (await city.post("/v1/orders", {"lines": [{"sku": SKU_A, "qty": 2}], "destination": destination()})).json()
    ful = order["fulfilment_orders"][0]["id"]
    key = city.supplier_keys[x]
    inbox = (await city.get("/v1/fulfilment-orders?status=pending", key=key)).json()
    assert [f["id"] for f in inbox["data"]] == [ful]
    assert inbox["data"][0]["destination"] is not None
    bad = await city.post(f"/v1/fulfilment-orders/{ful}/deliver", key=key)
    assert bad.status_code == 409
    for action, status in (("accept", "accepted"), ("pick", "picking"), ("ship", "shipped"), ("deliver", "delivered")):
        response = await city.post(f"/v1/fulfilment-orders/{ful}/{action}", key=key)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status
    assert await city.level(near_store, SKU_A) == {"on_hand": 3, "reserved": 0, "committed": 0}
    assert (await city.get(f"/v1/orders/{order['id']}")).json()["status"] == "completed"
    card = (await city.get(f"/v1/suppliers/{x}/scorecard", key=key)).json()
    assert card["received"] == 1 and card["accepted"] == 1 and card["finished"] == 1 and card["perfect"] == 1
    assert card["perfect_order_rate"] == 1.0
    # a return restocks
    returned = await city.post(f"/v1/orders/{order['id']}/return")
    assert returned.status_code == 200 and returned.json()["status"] == "returned"
    assert await city.level(near_store, SKU_A) == {"on_hand": 5, "reserved": 0, "committed": 0}


async def test_cancel_frees_the_stock_until_shipped(city: City) -> None:
    x, _, near_store, _ = await two_stores(city)
    await city.stock(x, near_store, SKU_A, 5)
    order = (await city.post("/v1/orders", {"lines": [{"sku": SKU_A, "qty": 2}], "destination": destination()})).json()
    response = await city.post(f"/v1/orders/{order['id']}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert await city.level(near_store, SKU_A) == {"on_hand": 5, "reserved": 0, "committed": 0}
    shipped = (
        await city.post("/v1/orders", {"lines": [{"sku": SKU_A, "qty": 1}], "destination": destination()})
    ).json()
    ful = shipped["fulfilment_orders"][0]["id"]
    key = city.supplier_keys[x]
    await city.post(f"/v1/fulfilment-orders/{ful}/accept", key=key)
    await city.post(f"/v1/fulfilment-orders/{ful}/ship", key=key)
    refused = await city.post(f"/v1/orders/{shipped['id']}/cancel")
    assert refused.status_code == 409


async def test_pickup_at_a_pickup_point_with_a_code(city: City) -> None:
    x, _, near_store, _ = await two_stores(city)
    point = await city.location(x, *near(km_north=0.5), kind="pickup_point", modes=("pickup",), radius_km=1)
    await city.stock(x, near_store, SKU_A, 5)
    order = (
        await city.post("/v1/orders", {"lines": [{"sku": SKU_A, "qty": 1}], "mode": "pickup", "pickup_point_id": point})
    ).json()
    [share] = order["fulfilment_orders"]
    assert share["pickup_location_id"] == point and share["location_id"] == near_store
    code = share["pickup_code"]
    assert code and len(code) == 6
    key = city.supplier_keys[x]
    assert (await city.get(f"/v1/fulfilment-orders/{share['id']}", key=key)).json()["pickup_code"] is None
    await city.post(f"/v1/fulfilment-orders/{share['id']}/accept", key=key)
    assert (await city.post(f"/v1/fulfilment-orders/{share['id']}/ship", key=key)).status_code == 409  # a pickup
    assert (await city.post(f"/v1/fulfilment-orders/{share['id']}/ready-for-pickup", key=key)).status_code == 200
    wrong = "000000" if code != "000000" else "111111"
    assert (await city.post("/v1/pickups/verify", {"code": wrong}, key=key)).status_code == 404
    done = await city.post("/v1/pickups/verify", {"code": code}, key=key)
    assert done.status_code == 200 and done.json()["status"] == "picked_up"
    assert (await city.get(f"/v1/orders/{order['id']}")).json()["status"] == "completed"


async def test_erase_customer(city: City) -> None:
    x, _, near_store, _ = await two_stores(city)
    await city.stock(x, near_store, SKU_A, 5)
    order = (
        await city.post(
            "/v1/orders",
            {"lines": [{"sku": SKU_A, "qty": 1}], "destination": destination(), "customer": {"name": "Han Meimei"}},
        )
    ).json()
    erased = (await city.post(f"/v1/orders/{order['id']}/erase-customer")).json()
    assert erased["customer"] is None and erased["customer_erased"] is True
    [stored] = await db().fetch("SELECT customer FROM orders WHERE id = ?", order["id"])
    assert stored["customer"] is None


async def test_channels_see_only_their_orders(city: City) -> None:
    x, _, near_store, _ = await two_stores(city)
    await city.stock(x, near_store, SKU_A, 5)
    order = (await city.post("/v1/orders", {"lines": [{"sku": SKU_A, "qty": 1}], "destination": destination()})).json()
    _, other_key = await city.tenant.channel("Other")
    assert (await city.get(f"/v1/orders/{order['id']}", key=other_key)).status_code == 404
    assert (await city.get("/v1/orders", key=other_key)).json()["data"] == []
    mine = (await city.get("/v1/orders?status=pending")).json()["data"]
    assert [o["id"] for o in mine] == [order["id"]]
    supplier_key = city.supplier_keys[x]
    assert (await city.get("/v1/orders", key=supplier_key)).status_code == 403


async def test_ranked_locations_rule_overrides_distance(city: City) -> None:
    x, y, near_store, far_store = await two_stores(city)
    await city.stock(x, near_store, SKU_A, 5)
    await city.stock(y, far_store, SKU_A, 5)
    policy = {"rules": ["fewest_shipments", "ranked_locations", "nearest"], "ranked_location_ids": [far_store]}
    response = await city.tenant.call("PUT", "/v1/routing-policy", json=policy)
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 1
    quote = (await city.post("/v1/quotes", {"lines": [{"sku": SKU_A, "qty": 1}], "destination": destination()})).json()
    assert [s["location_id"] for s in quote["shipments"]] == [far_store]
    stale = await city.tenant.call("PUT", "/v1/routing-policy", json={**policy, "version": 5})
    assert stale.status_code == 409


async def test_wholesale_above_listing_price_is_not_a_candidate(city: City) -> None:
    x, y, near_store, far_store = await two_stores(city)
    await city.stock(x, near_store, SKU_A, 5)
    await city.stock(y, far_store, SKU_A, 5)
    await db().fetch("UPDATE offers SET wholesale_amount = 500 WHERE supplier_id = ?", x)  # above the 200 listing
    quote = (await city.post("/v1/quotes", {"lines": [{"sku": SKU_A, "qty": 1}], "destination": destination()})).json()
    assert [s["location_id"] for s in quote["shipments"]] == [far_store]


async def test_the_answer_to_placing_is_what_reading_the_order_shows(city: City) -> None:
    """The POST answers from the rows it wrote, not from a read-back: byte for byte what GET
    shows next, for a split order with a consumer, a pickup with its code, and an order from a
    quote, to the channel and to the operator (who names the channel)."""
    x, y, near_store, far_store = await two_stores(city)
    point = await city.location(x, *near(km_north=0.5), kind="pickup_point", modes=("pickup",), radius_km=1)
    await city.stock(x, near_store, SKU_A, 9)
    await city.stock(y, far_store, SKU_B, 9)
    customer = {"name": "Li Lei", "phone": "+86 138 0000 0000", "address": "1 Nanshan Road"}
    split = {"lines": [{"sku": SKU_A, "qty": 1}, {"sku": SKU_B, "qty": 2}], "destination": destination()}
    quote = (await city.post("/v1/quotes", {"lines": [{"sku": SKU_A, "qty": 1}], "destination": destination()})).json()
    bodies = [
        ({**split, "customer": customer, "reference": "R-1"}, None),
        ({"lines": [{"sku": SKU_A, "qty": 1}], "mode": "pickup", "pickup_point_id": point}, None),
        ({"quote_id": quote["id"], "customer": customer}, None),
        ({**split, "channel_id": city.channel["id"], "customer": customer}, city.tenant.operator_key),
    ]
    for body, key in bodies:
        placed = await city.post("/v1/orders", body, key=key, headers={"Idempotency-Key": f"same-{len(body)}-{key}"})
        assert placed.status_code == 201, placed.text
        shown = await city.get(f"/v1/orders/{placed.json()['id']}", key=key)
        assert placed.content == shown.content
    assert len(placed.json()["fulfilment_orders"]) == 2


async def test_a_key_that_placed_an_order_gets_that_order_once_its_record_is_gone(city: City) -> None:
    """The Idempotency-Key of an order is the order's too (unique per channel): when the kept
    answer is gone (purged after the retention, or the key was the operator's for this channel)
    a retry gets the order the key placed, not a second one and not the refusal its body would
    get now, and takes nothing."""
    x, _, near_store, _ = await two_stores(city)
    await city.stock(x, near_store, SKU_A, 5)
    body = {"lines": [{"sku": SKU_A, "qty": 2}], "destination": destination()}
    first = await city.post("/v1/orders", body, headers={"Idempotency-Key": "kept-order"})
    assert first.status_code == 201
    await db().fetch("DELETE FROM idempotency_keys WHERE tenant_id = ?", city.tenant.id)  # purged

    again = await city.post("/v1/orders", body, headers={"Idempotency-Key": "kept-order"})
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    as_operator = {**body, "channel_id": city.channel["id"]}
    theirs = await city.post(
        "/v1/orders", as_operator, key=city.tenant.operator_key, headers={"Idempotency-Key": "kept-order"}
    )
    assert theirs.status_code == 201 and theirs.json()["id"] == first.json()["id"]
    assert await city.level(near_store, SKU_A) == {"on_hand": 5, "reserved": 0, "committed": 2}

    await db().fetch("DELETE FROM idempotency_keys WHERE tenant_id = ?", city.tenant.id)
    too_many = {"lines": [{"sku": SKU_A, "qty": 5}], "destination": destination()}  # refused now
    refused_body = await city.post("/v1/orders", too_many, headers={"Idempotency-Key": "kept-order"})
    assert refused_body.status_code == 201 and refused_body.json()["id"] == first.json()["id"]
    quote = (await city.post("/v1/quotes", {"lines": [{"sku": SKU_A, "qty": 1}], "destination": destination()})).json()
    await db().fetch("DELETE FROM idempotency_keys WHERE tenant_id = ?", city.tenant.id)
    from_quote = await city.post("/v1/orders", {"quote_id": quote["id"]}, headers={"Idempotency-Key": "kept-order"})
    assert from_quote.status_code == 201 and from_quote.json()["id"] == first.json()["id"]
    assert (await city.get(f"/v1/quotes/{quote['id']}")).json()["status"] == "open"  # the quote still holds its unit
    assert await city.level(near_store, SKU_A) == {"on_hand": 5, "reserved": 1, "committed": 2}
    refusals = await db().fetch("SELECT COUNT(*) AS n FROM demand_refusals WHERE tenant_id = ?", city.tenant.id)
    assert refusals[0]["n"] == 0
    orders = await db().fetch("SELECT COUNT(*) AS n FROM orders WHERE tenant_id = ?", city.tenant.id)
    assert orders[0]["n"] == 1
