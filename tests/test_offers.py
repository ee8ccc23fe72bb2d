"""Offers: a supplier's wholesale price for a catalogue SKU."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest

from gateway.clock import utcnow
from gateway.ids import new_id
from gateway.storage import db
from suppliers.offers.services import offered_skus


async def catalogue(tenant_id: str, *skus: str) -> None:
    """Variants with these skus in the tenant's catalogue (written directly: the catalogue API is
    another area's)."""
    now = utcnow()
    product = new_id("prod")
    await db().execute_many(
        "INSERT INTO variants (id, tenant_id, product_id, sku, title, options, status, version, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(new_id("var"), tenant_id, product, sku, sku, "{}", "active", 1, now, now) for sku in skus],
    )


def sku() -> str:
    return f"SKU-{secrets.token_hex(4)}"


def cny(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "CNY"}


async def _count(tenant_id: str) -> int:
    rows = await db().fetch("SELECT COUNT(*) AS n FROM offers WHERE tenant_id = ?", tenant_id)
    return int(rows[0]["n"])


async def _offer(tenant: Any, key: str | None = None, **fields: Any) -> dict[str, Any]:
    response = await tenant.call("POST", "/v1/offers", key=key, json=fields)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


# -- creating ---------------------------------------------------------------------------------


async def test_a_supplier_offers_a_catalogue_sku(tenant: Any) -> None:
    supplier, key = await tenant.supplier()
    item = sku()
    await catalogue(tenant.id, item)
    offer = await _offer(tenant, key, sku=item, wholesale_price=cny(1250))
    assert offer["id"].startswith("off_") and offer["supplier_id"] == supplier["id"] and offer["sku"] == item
    assert offer["wholesale_price"] == cny(1250) and offer["min_retail_price"] is None
    assert offer["active"] is True and offer["version"] == 1
    assert (await tenant.call("GET", f"/v1/offers/{offer['id']}", key=key)).json() == offer

    floor_sku = sku()
    await catalogue(tenant.id, floor_sku)
    floor = await _offer(tenant, key, sku=floor_sku, wholesale_price=cny(100), min_retail_price=cny(100), active=False)
    assert floor["min_retail_price"] == cny(100) and floor["active"] is False


async def test_the_operator_names_the_supplier(tenant: Any) -> None:
    supplier, _ = await tenant.supplier()
    item = sku()
    await catalogue(tenant.id, item)
    offer = await _offer(tenant, sku=item, wholesale_price=cny(99), supplier_id=supplier["id"])
    assert offer["supplier_id"] == supplier["id"]

    missing = await tenant.call("POST", "/v1/offers", json={"sku": item, "wholesale_price": cny(99)})
    assert missing.status_code == 403 and missing.json()["type"] == "/problems/supplier-required"
    assert missing.json()["errors"][0]["field"] == "supplier_id"
    unknown = await tenant.call(
        "POST", "/v1/offers", json={"sku": item, "wholesale_price": cny(99), "supplier_id": "sup_" + "0" * 26}
    )
    assert unknown.status_code == 404 and "supplier" in unknown.json()["detail"]


async def test_a_supplier_cannot_offer_for_another(tenant: Any) -> None:
    _, key = await tenant.supplier("Mine")
    other, _ = await tenant.supplier("Other")
    item = sku()
    await catalogue(tenant.id, item)
    response = await tenant.call(
        "POST", "/v1/offers", key=key, json={"sku": item, "wholesale_price": cny(1), "supplier_id": other["id"]}
    )
    assert response.status_code == 403 and response.json()["errors"][0]["field"] == "supplier_id"
    assert await _count(tenant.id) == 0


async def test_the_sku_must_be_in_this_tenants_catalogue(tenant: Any, new_tenant: Any) -> None:
    _, key = await tenant.supplier()
    other = await new_tenant("Other")
    theirs = sku()
    await catalogue(other.id, theirs)
    for item in (sku(), theirs):
        response = await tenant.call("POST", "/v1/offers", key=key, json={"sku": item, "wholesale_price": cny(1)})
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["type"] == "/problems/unknown-sku" and item in problem["detail"]
        assert problem["errors"][0]["field"] == "sku"
    assert await _count(tenant.id) == 0


async def test_one_offer_per_supplier_and_sku(tenant: Any) -> None:
    _, key = await tenant.supplier("First")
    _, other_key = await tenant.supplier("Second")
    item = sku()
    await catalogue(tenant.id, item)
    first = await _offer(tenant, key, sku=item, wholesale_price=cny(500))
    again = await tenant.call("POST", "/v1/offers", key=key, json={"sku": item, "wholesale_price": cny(600)})
    assert again.status_code == 409 and again.json()["type"] == "/problems/offer-exists"
    assert first["id"] in again.json()["detail"]
    assert (await _offer(tenant, other_key, sku=item, wholesale_price=cny(450)))["sku"] == item
    assert (await tenant.call("GET", f"/v1/offers/{first['id']}")).json()["wholesale_price"] == cny(500)


async def test_concurrent_creates_of_one_offer_have_one_winner(tenant: Any) -> None:
    _, key = await tenant.supplier()
    item = sku()
    await catalogue(tenant.id, item)
    answers = await asyncio.gather(
        *(
            tenant.call("POST", "/v1/offers", key=key, json={"sku": item, "wholesale_price": cny(100 + i)})
            for i in range(10)
        )
    )
    codes = sorted(a.status_code for a in answers)
    assert codes.count(201) == 1 and codes.count(409) == 9, codes
    assert await _count(tenant.id) == 1
    events = (await tenant.call("GET", "/v1/events?type=offer.created")).json()["data"]
    assert len(events) == 1


@pytest.mark.parametrize(
    ("body", "slug", "field"),
    [
        (
            {"wholesale_price": cny(500), "min_retail_price": {"amount": 900, "currency": "USD"}},
            "currency-mismatch",
            "min_retail_price.currency",
        ),
        (
            {"wholesale_price": cny(500), "min_retail_price": cny(499)},
            "min-retail-below-wholesale",
            "min_retail_price.amount",
        ),
    ],
)
async def test_price_rules_across_fields_are_409s_naming_the_field(
    tenant: Any, body: dict[str, Any], slug: str, field: str
) -> None:
    _, key = await tenant.supplier()
    item = sku()
    await catalogue(tenant.id, item)
    response = await tenant.call("POST", "/v1/offers", key=key, json={"sku": item, **body})
    assert response.status_code == 409 and response.json()["type"] == f"/problems/{slug}"
    assert response.json()["errors"][0]["field"] == field
    assert await _count(tenant.id) == 0


BAD = [
    ({"wholesale_price": {"amount": -1, "currency": "CNY"}}, "wholesale_price.amount"),
    ({"wholesale_price": {"amount": 1.5, "currency": "CNY"}}, "wholesale_price.amount"),
    ({"wholesale_price": {"amount": 10**16, "currency": "CNY"}}, "wholesale_price.amount"),
    ({"wholesale_price": {"amount": 100, "currency": "cny"}}, "wholesale_price.currency"),
    ({"wholesale_price": {"amount": 100}}, "wholesale_price.currency"),
    ({"wholesale_price": {"amount": 100, "currency": "CNY", "tax": 1}}, "wholesale_price.tax"),
    ({"min_retail_price": {"amount": 100, "currency": "CN"}}, "min_retail_price.currency"),
    ({"sku": ""}, "sku"),
    ({"sku": "has space"}, "sku"),
    ({"sku": "x" * 65}, "sku"),
    ({"active": "maybe"}, "active"),
    ({"supplier_id": "acme"}, "supplier_id"),
    ({"price": 1}, "price"),
]


@pytest.mark.parametrize(("change", "field"), BAD, ids=[f for _, f in BAD])
async def test_bad_fields_are_named(tenant: Any, change: dict[str, Any], field: str) -> None:
    _, key = await tenant.supplier()
    response = await tenant.call(
        "POST", "/v1/offers", key=key, json={"sku": "ABC-1", "wholesale_price": cny(1), **change}
    )
    assert response.status_code == 400, response.text
    assert field in [e["field"] for e in response.json()["errors"]], response.json()


# -- changing ---------------------------------------------------------------------------------


async def test_prices_change_with_the_version_and_the_rules(tenant: Any) -> None:
    _, key = await tenant.supplier()
    item = sku()
    await catalogue(tenant.id, item)
    offer = await _offer(tenant, key, sku=item, wholesale_price=cny(500), min_retail_price=cny(800))
    path = f"/v1/offers/{offer['id']}"

    cheaper = await tenant.call("PATCH", path, key=key, json={"version": 1, "wholesale_price": cny(450)})
    assert cheaper.status_code == 200, cheaper.text
    assert cheaper.json()["wholesale_price"] == cny(450) and cheaper.json()["min_retail_price"] == cny(800)
    assert cheaper.json()["version"] == 2

    stale = await tenant.call("PATCH", path, key=key, json={"version": 1, "wholesale_price": cny(1)})
    assert stale.status_code == 409 and stale.json()["type"] == "/problems/version-conflict"
    above_floor = await tenant.call("PATCH", path, key=key, json={"version": 2, "wholesale_price": cny(900)})
    assert above_floor.status_code == 409 and above_floor.json()["type"] == "/problems/min-retail-below-wholesale"
    usd = {"amount": 70, "currency": "USD"}
    other_currency = await tenant.call("PATCH", path, key=key, json={"version": 2, "wholesale_price": usd})
    assert other_currency.status_code == 409 and other_currency.json()["type"] == "/problems/currency-mismatch"
    assert (await tenant.call("GET", path, key=key)).json() == cheaper.json()

    both = await tenant.call(
        "PATCH",
        path,
        key=key,
        json={"version": 2, "wholesale_price": usd, "min_retail_price": {"amount": 99, "currency": "USD"}},
    )
    assert both.status_code == 200 and both.json()["min_retail_price"] == {"amount": 99, "currency": "USD"}
    cleared = await tenant.call("PATCH", path, key=key, json={"version": 3, "min_retail_price": None})
    assert cleared.status_code == 200 and cleared.json()["min_retail_price"] is None
    assert cleared.json()["wholesale_price"] == usd
    unchanged = await tenant.call("PATCH", path, key=key, json={"version": 4, "sku": "OTHER"})
    assert unchanged.status_code == 400 and unchanged.json()["errors"][0]["field"] == "sku"


async def test_deactivate_and_activate(tenant: Any) -> None:
    supplier, key = await tenant.supplier()
    item = sku()
    await catalogue(tenant.id, item)
    offer = await _offer(tenant, key, sku=item, wholesale_price=cny(10))
    path = f"/v1/offers/{offer['id']}"
    assert await offered_skus(tenant.id, supplier["id"], [item]) == {item}

    off = await tenant.call("POST", f"{path}/deactivate", key=key)
    assert off.status_code == 200 and off.json()["active"] is False and off.json()["version"] == 2
    assert await offered_skus(tenant.id, supplier["id"], [item]) == set()
    assert (await tenant.call("POST", f"{path}/activate", key=key, json={"version": 1})).status_code == 409
    on = await tenant.call("POST", f"{path}/activate", key=key, json={"version": 2})
    assert on.status_code == 200 and on.json()["active"] is True
    assert await offered_skus(tenant.id, supplier["id"], [item]) == {item}

    types = [
        e["type"]
        for e in (
            await tenant.call(
                "GET", "/v1/events?type=offer.created&type=offer.deactivated&type=offer.activated", key=key
            )
        ).json()["data"]
    ]
    assert types == ["offer.created", "offer.deactivated", "offer.activated"]


# -- who sees what ----------------------------------------------------------------------------


async def test_a_supplier_sees_only_its_own_and_anothers_is_not_found(tenant: Any) -> None:
    mine, my_key = await tenant.supplier("Mine")
    other, other_key = await tenant.supplier("Other")
    item = sku()
    await catalogue(tenant.id, item)
    own = await _offer(tenant, my_key, sku=item, wholesale_price=cny(10))
    theirs = await _offer(tenant, other_key, sku=item, wholesale_price=cny(11))
    nowhere = "off_" + theirs["id"][4:14] + "0" * 16

    assert [o["id"] for o in (await tenant.call("GET", "/v1/offers", key=my_key)).json()["data"]] == [own["id"]]
    assert (await tenant.call("GET", f"/v1/offers?supplier_id={other['id']}", key=my_key)).json()["data"] == []
    for method, suffix, body in (
        ("GET", "", None),
        ("PATCH", "", {"version": 1, "wholesale_price": cny(1)}),
        ("POST", "/deactivate", None),
        ("POST", "/activate", {"version": 1}),
    ):
        hidden = await tenant.call(method, f"/v1/offers/{theirs['id']}{suffix}", key=my_key, json=body)
        missing = await tenant.call(method, f"/v1/offers/{nowhere}{suffix}", key=my_key, json=body)
        assert hidden.status_code == missing.status_code == 404, (method, suffix, hidden.text)
        assert hidden.json()["detail"].replace(theirs["id"], "<id>") == missing.json()["detail"].replace(
            nowhere, "<id>"
        )
    assert (await tenant.call("GET", f"/v1/offers/{theirs['id']}", key=other_key)).json() == theirs
    assert {o["id"] for o in (await tenant.call("GET", "/v1/offers")).json()["data"]} == {own["id"], theirs["id"]}
    events = (await tenant.call("GET", "/v1/events?type=offer.created", key=my_key)).json()["data"]
    assert [e["data"]["id"] for e in events] == [own["id"]] and mine["id"] != other["id"]


async def test_channels_are_refused(tenant: Any, new_tenant: Any) -> None:
    supplier, key = await tenant.supplier()
    item = sku()
    await catalogue(tenant.id, item)
    offer = await _offer(tenant, key, sku=item, wholesale_price=cny(10))
    _, channel_key = await tenant.channel()
    for method, path, body in (
        ("GET", "/v1/offers", None),
        ("GET", f"/v1/offers/{offer['id']}", None),
        ("POST", "/v1/offers", {"sku": item, "wholesale_price": cny(1), "supplier_id": supplier["id"]}),
        ("PATCH", f"/v1/offers/{offer['id']}", {"version": 1}),
        ("POST", f"/v1/offers/{offer['id']}/activate", None),
    ):
        assert (await tenant.call(method, path, key=channel_key, json=body)).status_code == 403, (method, path)
    other = await new_tenant("Other")
    assert (await other.call("GET", f"/v1/offers/{offer['id']}")).status_code == 404
    assert (await other.call("GET", "/v1/offers")).json()["data"] == []


# -- listing ----------------------------------------------------------------------------------


async def test_filters_and_pagination(tenant: Any) -> None:
    first, first_key = await tenant.supplier("First")
    second, second_key = await tenant.supplier("Second")
    a, b, c = sku(), sku(), sku()
    await catalogue(tenant.id, a, b, c)
    made = [
        await _offer(tenant, first_key, sku=a, wholesale_price=cny(1)),
        await _offer(tenant, first_key, sku=b, wholesale_price=cny(2)),
        await _offer(tenant, second_key, sku=a, wholesale_price=cny(3)),
        await _offer(tenant, second_key, sku=c, wholesale_price=cny(4), active=False),
    ]

    async def ids(query: str, key: str | None = None) -> list[str]:
        response = await tenant.call("GET", f"/v1/offers{query}", key=key)
        assert response.status_code == 200, response.text
        return [o["id"] for o in response.json()["data"]]

    assert await ids(f"?sku={a}") == [made[0]["id"], made[2]["id"]]
    assert await ids(f"?sku={a}", second_key) == [made[2]["id"]]
    assert await ids(f"?supplier_id={second['id']}") == [made[2]["id"], made[3]["id"]]
    assert await ids("?active=false") == [made[3]["id"]]
    assert await ids(f"?active=true&supplier_id={first['id']}") == [made[0]["id"], made[1]["id"]]

    walked: list[str] = []
    after = ""
    while True:
        page = (await tenant.call("GET", f"/v1/offers?limit=3{after}")).json()
        walked += [o["id"] for o in page["data"]]
        if not page["has_more"]:
            break
        after = f"&after={page['next_cursor']}"
    assert walked == [m["id"] for m in made]


@pytest.mark.parametrize(
    ("query", "field"), [("?active=perhaps", "active"), ("?sku=a%20b", "sku"), ("?supplier_id=x", "supplier_id")]
)
async def test_bad_filters_are_named(tenant: Any, query: str, field: str) -> None:
    response = await tenant.call("GET", f"/v1/offers{query}")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == field


# -- for the ledger and routing ----------------------------------------------------------------


async def test_offered_skus_is_set_based_and_counts_active_offers_only(tenant: Any, new_tenant: Any) -> None:
    supplier, _ = await tenant.supplier("Big")
    other, _ = await tenant.supplier("Other")
    skus = [f"BULK-{i:05d}" for i in range(2500)]
    await catalogue(tenant.id, *skus)
    now = utcnow()
    rows = [
        (new_id("off"), tenant.id, owner, item, 100, "CNY", None, active, 1, now, now)
        for i, item in enumerate(skus)
        for owner, active in ((supplier["id"], i % 5 != 0), (other["id"], True))
        if owner == supplier["id"] and i % 2 == 0 or owner == other["id"] and i % 2 == 1
    ]
    await db().execute_many(
        "INSERT INTO offers (id, tenant_id, supplier_id, sku, wholesale_amount, currency, min_retail_amount, active, "
        "version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    expected = {item for i, item in enumerate(skus) if i % 2 == 0 and i % 5 != 0}
    asked = [*skus, "NOT-IN-CATALOGUE", *skus[:10]]
    assert await offered_skus(tenant.id, supplier["id"], asked) == expected
    assert await offered_skus(tenant.id, supplier["id"], []) == set()
    foreign = await new_tenant("Other")
    assert await offered_skus(foreign.id, supplier["id"], skus) == set()
