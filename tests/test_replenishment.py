"""Replenishment advice (DESIGN §15), end to end: a forward warehouse runs dry, an order at a
place it serves is refused, the advice names the transfer from the supplier's central
warehouse, the operator posts it as it is, and the same order at the same place is accepted."""

from __future__ import annotations

from typing import Any

import pytest
from order_world import City, make_city, near

from channels.insight import replenish

SKU = "RICE-5KG"


@pytest.fixture
async def city(tenant: Any) -> City:
    return await make_city(tenant)


async def test_the_advised_transfer_turns_a_refusal_into_an_order(city: City) -> None:
    response = await city.tenant.call(
        "POST", "/v1/products", json={"title": "Rice", "variants": [{"sku": SKU, "title": "Rice"}]}
    )
    assert response.status_code == 201, response.text
    supplier = await city.supplier("Grain Co")
    other = await city.supplier("Far Away Foods")
    forward = await city.location(supplier, *near(km_east=-5), kind="forward_warehouse", radius_km=12, prep_minutes=20)
    central = await city.location(supplier, *near(km_north=60), kind="central_warehouse", radius_km=15)
    elsewhere = await city.location(other, *near(km_north=-80), kind="central_warehouse", radius_km=15)
    for owner in (supplier, other):
        await city.offer(owner, SKU, wholesale=2000)
    await city.listing(SKU, price=3000)
    await city.stock(supplier, forward, SKU, 1)
    await city.stock(supplier, central, SKU, 40)
    await city.stock(other, elsewhere, SKU, 40)
    lat, lng = near(km_north=0.5)
    body = {"lines": [{"sku": SKU, "qty": 1}], "destination": {"lat": lat, "lng": lng}}

    first = await city.post("/v1/orders", body)
    assert first.status_code == 201, first.text
    assert first.json()["fulfilment_orders"][0]["location_id"] == forward
    refused = await city.post("/v1/orders", body)
    assert refused.status_code == 409 and refused.json()["type"].endswith("out-of-stock"), refused.text

    advice = (await city.tenant.call("GET", "/v1/insight/replenishment")).json()
    cell = next(d for d in advice["demand"] if d["sku"] == SKU)
    assert (cell["ordered_units"], cell["refused_units"], cell["local_available"]) == (1, 1, 0)
    [suggestion] = advice["suggestions"]
    assert (suggestion["from_location_id"], suggestion["to_location_id"], suggestion["sku"]) == (central, forward, SKU)
    assert suggestion["qty"] >= 1 and suggestion["refused_units"] == 1 and suggestion["tier"] == "mid"
    assert cell["h3"] in suggestion["cells"]

    moved = await city.tenant.call("POST", "/v1/inventory/transfers", json=suggestion["transfer"])
    assert moved.status_code == 201, moved.text
    received = await city.tenant.call("POST", f"/v1/inventory/transfers/{moved.json()['id']}/receive")
    assert received.status_code == 200, received.text

    accepted = await city.post("/v1/orders", body)
    assert accepted.status_code == 201, accepted.text
    share = accepted.json()["fulfilment_orders"][0]
    assert (share["location_id"], share["tier"]) == (forward, "mid")
    # channels and suppliers do not get the tenant-wide advice
    assert (await city.tenant.call("GET", "/v1/insight/replenishment", key=city.channel_key)).status_code == 403


def test_advice_follows_the_most_unmet_demand_and_never_moves_more_than_the_source_has() -> None:
    demand = [
        replenish.Demand(cell="a", sku="S", refused=5, far=0),
        replenish.Demand(cell="b", sku="S", refused=0, far=7),
        replenish.Demand(cell="c", sku="S", refused=2, far=0),
    ]
    receivers = [
        replenish.Receiver(
            location_id="loc_1", supplier_id="s1", sku="S", available=0, cells={"a": "near", "c": "near"}
        ),
        replenish.Receiver(location_id="loc_2", supplier_id="s1", sku="S", available=1, cells={"b": "mid", "c": "mid"}),
        replenish.Receiver(
            location_id="loc_3", supplier_id="s2", sku="S", available=0, cells={"a": "near", "b": "near"}
        ),
    ]
    sources = [replenish.Source(location_id="loc_c", supplier_id="s1", sku="S", available=10)]
    made = replenish.advise(demand, receivers, sources)
    assert sum(s.qty for s in made) == 10
    assert all(s.from_location_id == "loc_c" and s.supplier_id == "s1" for s in made)  # never across suppliers
    assert made[0].to_location_id == "loc_2" and made[0].qty == 8  # 7 far + 2 refused, less its 1 unit
    assert made[1].to_location_id == "loc_1" and made[1].qty == 2  # 5 refused, but the source has 2 left
    assert len(made) == 2
    assert replenish.advise(demand, receivers, []) == []
