"""Coverage maps (DESIGN §15): every cell of the map is what routing decides for an order to
the cell's centre, found here by asking routing itself, cell by cell, through its I/O edge
(`routing.services.candidates`, one database round per cell) and its planner."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import h3
import pytest
from order_world import City, make_city, near

from channels.routing import core, coverage
from channels.routing import services as routing

SKU_A, SKU_B = "KETTLE-1", "TEAPOT-1"


@pytest.fixture
async def city(tenant: Any) -> City:
    return await make_city(tenant)


async def catalogue(city: City, *skus: str) -> None:
    response = await city.tenant.call(
        "POST", "/v1/products", json={"title": "Kitchen", "variants": [{"sku": s, "title": s} for s in skus]}
    )
    assert response.status_code == 201, response.text


async def build(city: City) -> dict[str, str]:
    """Stores of three sizes, a forward and a central warehouse, one store closed all day, one
    supplier too dear for the channel's price; A everywhere, B in two places."""
    await catalogue(city, SKU_A, SKU_B)
    x = await city.supplier("X")
    y = await city.supplier("Y")
    dear = await city.supplier("Dear")
    sites = {
        "x_store": await city.location(x, *near(km_north=2), radius_km=3, prep_minutes=5),
        "x_forward": await city.location(x, *near(km_east=-6), kind="forward_warehouse", radius_km=12, prep_minutes=30),
        "x_central": await city.location(x, *near(km_north=40), kind="central_warehouse", radius_km=80),
        "y_store": await city.location(y, *near(km_east=4), radius_km=5, prep_minutes=10),
        "y_closed": await city.location(
            y, *near(km_north=-4), radius_km=4, hours={"mon": [["03:00", "03:01"]]}, prep_minutes=5
        ),
        "dear_store": await city.location(dear, *near(km_north=-1, km_east=-1), radius_km=4),
    }
    await city.offer(x, SKU_A, wholesale=100)
    await city.offer(x, SKU_B, wholesale=100)
    await city.offer(y, SKU_A, wholesale=120)
    await city.offer(dear, SKU_A, wholesale=260)
    await city.listing(SKU_A, price=200)
    await city.listing(SKU_B, price=300)
    for name in ("x_store", "x_forward", "x_central"):
        await city.stock(x, sites[name], SKU_A, 5)
    await city.stock(x, sites["x_central"], SKU_B, 5)
    await city.stock(x, sites["x_forward"], SKU_B, 1)
    await city.stock(y, sites["y_store"], SKU_A, 2)
    await city.stock(y, sites["y_closed"], SKU_A, 9)
    await city.stock(dear, sites["dear_store"], SKU_A, 9)
    return sites


def bucket(eta: int) -> str:
    return "30m" if eta <= 30 else "4h" if eta <= 240 else "next_day"


async def brute_force(
    tenant_id: str, made: dict[str, Any], prices: dict[str, routing.Offered], qty: int
) -> dict[str, tuple[str, str, int, list[str]]]:
    """Routing asked at every cell centre of the map's area, as an order there would ask it."""
    west, south, east, north = made["bbox"]
    now = datetime.fromisoformat(made["generated_at"])
    policy = await routing.policy_of(tenant_id)
    rules = core.make_rules(policy.rules, policy.ranked_location_ids)
    lines = [core.Line(line["sku"], qty) for line in made["basket"]]
    found: dict[str, tuple[str, str, int, list[str]]] = {}
    cells = coverage.cells_in((south, west, north, east), made["resolution"])
    assert len(cells) == made["cells_evaluated"]
    for cell in cells:
        lat, lng = h3.cell_to_latlng(cell.h3)
        candidates = await routing.candidates(
            tenant_id, prices, routing.Destination(lat=lat, lng=lng), "delivery", now=now
        )
        plan = core.plan(lines, candidates, rules, split_quantities=policy.split_quantities)
        if plan.unfilled or not plan.shares:
            continue
        eta = max(share.candidate.promise.eta_minutes for share in plan.shares)
        tiers = [share.candidate.promise.tier for share in plan.shares]
        tier = "far" if "far" in tiers else "mid" if "mid" in tiers else "near"
        found[cell.h3] = (bucket(eta), tier, eta, [share.candidate.site.id for share in plan.shares])
    return found


def mapped(made: dict[str, Any]) -> dict[str, tuple[str, str, int, list[str]]]:
    return {
        f["properties"]["h3"]: (
            f["properties"]["bucket"],
            f["properties"]["tier"],
            f["properties"]["eta_minutes"],
            f["properties"]["location_ids"],
        )
        for f in made["features"]
    }


@pytest.mark.parametrize(
    ("skus", "qty", "as_channel"),
    [([SKU_A], 1, False), ([SKU_A], 1, True), ([SKU_A, SKU_B], 1, False), ([SKU_A], 3, True)],
)
async def test_every_cell_is_what_routing_decides_at_its_centre(
    city: City, skus: list[str], qty: int, as_channel: bool
) -> None:
    sites = await build(city)
    key = city.channel_key if as_channel else None
    response = await city.tenant.call(
        "GET", "/v1/insight/coverage", key=key, params={"sku": skus, "qty": qty, "resolution": 7}
    )
    assert response.status_code == 200, response.text
    made = response.json()
    if as_channel:
        prices = {SKU_A: routing.Offered(200, "CNY"), SKU_B: routing.Offered(300, "CNY")}
    else:
        prices = {sku: routing.Offered(10**15, "CNY") for sku in skus}
    want = await brute_force(city.tenant.id, made, {s: prices[s] for s in skus}, qty)
    got = mapped(made)
    assert got == want
    assert sum(made["counts"].values()) == len(got)
    if skus == [SKU_A] and qty == 1:  # the world has a near, a mid and a far place for it
        assert {value[0] for value in got.values()} == {"30m", "4h", "next_day"}
    used = {ident for value in got.values() for ident in value[3]}
    if as_channel:  # the channel's price is below what the dear supplier asks
        assert sites["dear_store"] not in used
    assert sites["y_closed"] not in {ident for value in got.values() if value[0] == "30m" for ident in value[3]}


async def test_a_basket_needs_every_sku_and_an_unknown_sku_is_named(city: City) -> None:
    await build(city)
    one = (await city.tenant.call("GET", "/v1/insight/coverage", params={"sku": [SKU_A], "resolution": 7})).json()
    both = (
        await city.tenant.call("GET", "/v1/insight/coverage", params={"sku": [SKU_A, SKU_B], "resolution": 7})
    ).json()
    assert set(mapped(both)) <= set(mapped(one))
    # the teapot is only in warehouses: the basket is never promised in 30 minutes, the kettle is
    assert "30m" in {value[0] for value in mapped(one).values()}
    assert "30m" not in {value[0] for value in mapped(both).values()}
    unknown = await city.tenant.call("GET", "/v1/insight/coverage", params={"sku": ["NOPE-1"]})
    assert unknown.status_code == 404
    assert unknown.json()["errors"][0]["field"] == "sku"
    supplier = await city.tenant.call(
        "GET", "/v1/insight/coverage", key=next(iter(city.supplier_keys.values())), params={"sku": [SKU_A]}
    )
    assert supplier.status_code == 403
