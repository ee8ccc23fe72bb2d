"""Listings: a channel's retail price for a catalogue SKU, and the history of its prices."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest

from channels.listings import services
from channels.listings.services import ListedPrice, listed_prices
from gateway.clock import utcnow
from gateway.demo import build_demo
from gateway.ids import new_id
from gateway.storage import db

NOWHERE = "lst_" + "0" * 26


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


async def offer(tenant: Any, supplier_id: str, item: str, wholesale: int, **fields: Any) -> dict[str, Any]:
    body = {"sku": item, "wholesale_price": cny(wholesale), "supplier_id": supplier_id, **fields}
    response = await tenant.call("POST", "/v1/offers", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def offered(tenant: Any, wholesale: int = 500, **fields: Any) -> str:
    """A new catalogue SKU that a new supplier offers at `wholesale`."""
    supplier, _ = await tenant.supplier()
    item = sku()
    await catalogue(tenant.id, item)
    await offer(tenant, supplier["id"], item, wholesale, **fields)
    return item


async def listing(tenant: Any, key: str | None = None, **fields: Any) -> dict[str, Any]:
    response = await tenant.call("POST", "/v1/listings", key=key, json=fields)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def written(tenant_id: str) -> tuple[int, int, int]:
    """(listings, price history entries, listing events) of the tenant."""
    counts = []
    for sql in (
        "SELECT COUNT(*) AS n FROM listings WHERE tenant_id = ?",
        "SELECT COUNT(*) AS n FROM listing_prices WHERE tenant_id = ?",
        "SELECT COUNT(*) AS n FROM events WHERE tenant_id = ? AND type LIKE 'listing.%'",
    ):
        counts.append(int((await db().fetch(sql, tenant_id))[0]["n"]))
    return counts[0], counts[1], counts[2]


async def event_types(tenant: Any, key: str | None = None) -> list[str]:
    types = "&".join(f"type=listing.{t}" for t in ("created", "updated", "activated", "deactivated"))
    page = (await tenant.call("GET", f"/v1/events?{types}", key=key)).json()
    return [e["type"] for e in page["data"]]


def problem(response: Any, status: int, slug: str, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{slug}", body
    if field is not None:
        assert [e["field"] for e in body["errors"]] == [field], body
    return body


# -- creating ---------------------------------------------------------------------------------


async def test_a_channel_lists_an_offered_sku(tenant: Any) -> None:
    channel, key = await tenant.channel()
    item = await offered(tenant, 500)
    made = await listing(tenant, key, sku=item, price=cny(699))
    assert made["id"].startswith("lst_") and made["channel_id"] == channel["id"] and made["sku"] == item
    assert made["price"] == cny(699) and made["active"] is True and made["version"] == 1
    assert made["created_at"] == made["updated_at"]
    assert (await tenant.call("GET", f"/v1/listings/{made['id']}", key=key)).json() == made

    history = (await tenant.call("GET", f"/v1/listings/{made['id']}/prices", key=key)).json()
    assert history["has_more"] is False and history["next_cursor"] is None
    assert [(p["version"], p["price"], p["listing_id"]) for p in history["data"]] == [(1, cny(699), made["id"])]
    assert history["data"][0]["actor"].startswith("key_")

    events = (await tenant.call("GET", "/v1/events?type=listing.created", key=key)).json()["data"]
    assert [e["data"] for e in events] == [made]

    paused = await listing(
        tenant, key, sku=await offered(tenant), price=cny(500), active=False, channel_id=channel["id"]
    )
    assert paused["active"] is False and paused["channel_id"] == channel["id"]


async def test_the_operator_names_the_channel(tenant: Any) -> None:
    channel, _ = await tenant.channel()
    item = await offered(tenant)
    made = await listing(tenant, sku=item, price=cny(600), channel_id=channel["id"])
    assert made["channel_id"] == channel["id"]

    before = await written(tenant.id)
    missing = await tenant.call("POST", "/v1/listings", json={"sku": item, "price": cny(600)})
    problem(missing, 403, "channel-required", "channel_id")
    unknown = await tenant.call(
        "POST", "/v1/listings", json={"sku": item, "price": cny(600), "channel_id": "chn_" + "0" * 26}
    )
    assert unknown.status_code == 404 and "channel" in unknown.json()["detail"]
    assert await written(tenant.id) == before


async def test_a_channel_cannot_list_for_another(tenant: Any) -> None:
    _, key = await tenant.channel("Mine")
    other, _ = await tenant.channel("Other")
    item = await offered(tenant)
    response = await tenant.call(
        "POST", "/v1/listings", key=key, json={"sku": item, "price": cny(600), "channel_id": other["id"]}
    )
    problem(response, 403, "forbidden", "channel_id")
    assert await written(tenant.id) == (0, 0, 0)


async def test_the_sku_must_be_in_this_tenants_catalogue(tenant: Any, new_tenant: Any) -> None:
    _, key = await tenant.channel()
    other = await new_tenant("Other")
    theirs = await offered(other)
    for item in (sku(), theirs):
        response = await tenant.call("POST", "/v1/listings", key=key, json={"sku": item, "price": cny(900)})
        assert item in problem(response, 404, "unknown-sku", "sku")["detail"]
    assert await written(tenant.id) == (0, 0, 0)


async def test_the_sku_must_be_offered_by_an_active_supplier(tenant: Any) -> None:
    _, key = await tenant.channel()
    supplier, _ = await tenant.supplier()
    never, withdrawn, abandoned = sku(), sku(), sku()
    await catalogue(tenant.id, never, withdrawn, abandoned)
    await offer(tenant, supplier["id"], withdrawn, 100, active=False)
    gone, _ = await tenant.supplier("Gone")
    await offer(tenant, gone["id"], abandoned, 100)
    assert (await tenant.call("POST", f"/v1/suppliers/{gone['id']}/deactivate")).status_code == 200
    for item in (never, withdrawn, abandoned):
        response = await tenant.call("POST", "/v1/listings", key=key, json={"sku": item, "price": cny(10_000)})
        assert item in problem(response, 409, "sku-not-offered", "sku")["detail"]
    assert await written(tenant.id) == (0, 0, 0)


@pytest.mark.parametrize(
    ("price", "slug", "field", "hint"),
    [
        (cny(399), "price-below-cost", "price.amount", "at least 400"),
        (cny(0), "price-below-cost", "price.amount", "at least 400"),
        ({"amount": 9_000, "currency": "USD"}, "price-below-cost", "price.currency", "CNY"),
        (cny(899), "price-below-minimum", "price.amount", "at least 900"),
    ],
)
async def test_a_price_no_offer_can_fill_is_refused_naming_price(
    tenant: Any, price: dict[str, Any], slug: str, field: str, hint: str
) -> None:
    """Offers at 400 (floor 1000), 500 (floor 900) and 950 CNY: 400 is the least any supplier is
    paid, 900 the least any of them lets the SKU be sold at."""
    _, key = await tenant.channel()
    item = sku()
    await catalogue(tenant.id, item)
    for wholesale, floor in ((400, 1000), (500, 900), (950, None)):
        supplier, _ = await tenant.supplier()
        await offer(tenant, supplier["id"], item, wholesale, min_retail_price=cny(floor) if floor else None)
    before = await written(tenant.id)
    response = await tenant.call("POST", "/v1/listings", key=key, json={"sku": item, "price": price})
    body = problem(response, 409, slug, field)
    assert hint in body["errors"][0]["message"] and item in body["detail"]
    assert await written(tenant.id) == before

    # the second offer can fill it at its floor
    assert (await listing(tenant, key, sku=item, price=cny(900)))["price"] == cny(900)


async def test_one_listing_per_channel_and_sku(tenant: Any) -> None:
    _, key = await tenant.channel("First")
    second, second_key = await tenant.channel("Second")
    item = await offered(tenant)
    first = await listing(tenant, key, sku=item, price=cny(600))
    again = await tenant.call("POST", "/v1/listings", key=key, json={"sku": item, "price": cny(700)})
    assert first["id"] in problem(again, 409, "listing-exists")["detail"]
    assert (await listing(tenant, second_key, sku=item, price=cny(650)))["channel_id"] == second["id"]
    assert (await tenant.call("GET", f"/v1/listings/{first['id']}")).json() == first
    assert (await written(tenant.id))[:2] == (2, 2)


async def test_concurrent_creates_of_one_listing_have_one_winner(tenant: Any) -> None:
    _, key = await tenant.channel()
    item = await offered(tenant)
    answers = await asyncio.gather(
        *(tenant.call("POST", "/v1/listings", key=key, json={"sku": item, "price": cny(600 + i)}) for i in range(10))
    )
    codes = sorted(a.status_code for a in answers)
    assert codes.count(201) == 1 and codes.count(409) == 9, codes
    assert await written(tenant.id) == (1, 1, 1)


async def test_a_retry_with_the_same_idempotency_key_replays_the_listing(tenant: Any) -> None:
    _, key = await tenant.channel()
    item = await offered(tenant)
    body = {"sku": item, "price": cny(600)}
    headers = {"Idempotency-Key": f"list-{secrets.token_hex(4)}"}
    first = await tenant.call("POST", "/v1/listings", key=key, json=body, headers=headers)
    again = await tenant.call("POST", "/v1/listings", key=key, json=body, headers=headers)
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    other = await tenant.call("POST", "/v1/listings", key=key, json={**body, "price": cny(601)}, headers=headers)
    problem(other, 422, "idempotency-key-reused")
    assert await written(tenant.id) == (1, 1, 1)


BAD = [
    ({"price": {"amount": -1, "currency": "CNY"}}, "price.amount"),
    ({"price": {"amount": 1.5, "currency": "CNY"}}, "price.amount"),
    ({"price": {"amount": 10**16, "currency": "CNY"}}, "price.amount"),
    ({"price": {"amount": 100, "currency": "cny"}}, "price.currency"),
    ({"price": {"amount": 100}}, "price.currency"),
    ({"price": {"amount": 100, "currency": "CNY", "tax": 1}}, "price.tax"),
    ({"price": 100}, "price"),
    ({"sku": ""}, "sku"),
    ({"sku": "has space"}, "sku"),
    ({"sku": "x" * 65}, "sku"),
    ({"active": "maybe"}, "active"),
    ({"channel_id": "acme"}, "channel_id"),
    ({"version": 1}, "version"),
]


@pytest.mark.parametrize(("change", "field"), BAD, ids=[f for _, f in BAD])
async def test_bad_fields_are_named(tenant: Any, change: dict[str, Any], field: str) -> None:
    _, key = await tenant.channel()
    response = await tenant.call("POST", "/v1/listings", key=key, json={"sku": "ABC-1", "price": cny(1), **change})
    assert response.status_code == 400, response.text
    assert field in [e["field"] for e in response.json()["errors"]], response.json()
    missing = await tenant.call("POST", "/v1/listings", key=key, json={"sku": "ABC-1"})
    assert missing.status_code == 400 and missing.json()["errors"][0]["field"] == "price"
    assert await written(tenant.id) == (0, 0, 0)


# -- changing ---------------------------------------------------------------------------------


async def test_price_changes_are_versioned_and_kept(tenant: Any) -> None:
    _, key = await tenant.channel()
    item = sku()
    await catalogue(tenant.id, item)
    supplier, _ = await tenant.supplier()
    the_offer = await offer(tenant, supplier["id"], item, 500)
    made = await listing(tenant, key, sku=item, price=cny(700))
    path = f"/v1/listings/{made['id']}"

    dearer = await tenant.call("PATCH", path, key=key, json={"version": 1, "price": cny(750)})
    assert dearer.status_code == 200, dearer.text
    assert dearer.json()["price"] == cny(750) and dearer.json()["version"] == 2
    assert dearer.json()["created_at"] == made["created_at"] and dearer.json()["updated_at"] > made["updated_at"]

    before = await written(tenant.id)
    problem(await tenant.call("PATCH", path, key=key, json={"version": 1, "price": cny(800)}), 409, "version-conflict")
    below = await tenant.call("PATCH", path, key=key, json={"version": 2, "price": cny(499)})
    problem(below, 409, "price-below-cost", "price.amount")
    usd = await tenant.call("PATCH", path, key=key, json={"version": 2, "price": {"amount": 900, "currency": "USD"}})
    problem(usd, 409, "price-below-cost", "price.currency")
    problem(await tenant.call("PATCH", path, key=key, json={"version": 2, "sku": "OTHER"}), 400, "validation", "sku")
    problem(await tenant.call("PATCH", path, key=key, json={"price": cny(800)}), 400, "validation", "version")
    assert await written(tenant.id) == before
    assert (await tenant.call("GET", path, key=key)).json() == dearer.json()

    # by the operator, at the cost price exactly; the history names who set each price
    at_cost = await tenant.call("PATCH", path, json={"version": 2, "price": cny(500)})
    assert at_cost.status_code == 200 and at_cost.json()["version"] == 3
    touched = await tenant.call("PATCH", path, key=key, json={"version": 3})
    assert touched.status_code == 200 and touched.json()["version"] == 4 and touched.json()["price"] == cny(500)

    history = (await tenant.call("GET", f"{path}/prices", key=key)).json()["data"]
    assert [(p["version"], p["price"]["amount"]) for p in history] == [(3, 500), (2, 750), (1, 700)]
    assert history[0]["actor"] != history[1]["actor"] == history[2]["actor"]
    assert history[0]["at"] == at_cost.json()["updated_at"]

    # with every offer gone there is nothing a new price could be filled by
    assert (await tenant.call("POST", f"/v1/offers/{the_offer['id']}/deactivate")).status_code == 200
    problem(await tenant.call("PATCH", path, key=key, json={"version": 4, "price": cny(900)}), 409, "sku-not-offered")
    assert await event_types(tenant, key) == [
        "listing.created",
        "listing.updated",
        "listing.updated",
        "listing.updated",
    ]


async def test_the_price_history_pages_newest_first(tenant: Any) -> None:
    _, key = await tenant.channel()
    made = await listing(tenant, key, sku=await offered(tenant, 100), price=cny(100))
    path = f"/v1/listings/{made['id']}"
    for version in range(1, 6):
        assert (
            await tenant.call("PATCH", path, key=key, json={"version": version, "price": cny(100 + version)})
        ).status_code == 200
    seen: list[int] = []
    after: str | None = None
    while True:
        query = f"?limit=2&after={after}" if after else "?limit=2"
        page = (await tenant.call("GET", f"{path}/prices{query}", key=key)).json()
        seen += [p["version"] for p in page["data"]]
        assert page["has_more"] is (page["next_cursor"] is not None)
        if not page["has_more"]:
            break
        after = page["next_cursor"]
    assert seen == [6, 5, 4, 3, 2, 1]
    assert (await tenant.call("GET", f"{path}/prices?after=4", key=key)).json()["data"][0]["version"] == 3
    assert len((await tenant.call("GET", f"{path}/prices?after=9999999999", key=key)).json()["data"]) == 6
    for bad in ("0", "x", "lst_1", "-1"):
        problem(await tenant.call("GET", f"{path}/prices?after={bad}", key=key), 400, "validation", "after")


async def test_deactivate_and_activate(tenant: Any) -> None:
    channel, key = await tenant.channel()
    item = sku()
    await catalogue(tenant.id, item)
    supplier, _ = await tenant.supplier()
    the_offer = await offer(tenant, supplier["id"], item, 300)
    made = await listing(tenant, key, sku=item, price=cny(400))
    path = f"/v1/listings/{made['id']}"
    assert (await listed_prices(tenant.id, channel["id"], [item]))[item].version == 1

    off = await tenant.call("POST", f"{path}/deactivate", key=key)
    assert off.status_code == 200 and off.json()["active"] is False and off.json()["version"] == 2
    assert await listed_prices(tenant.id, channel["id"], [item]) == {}
    problem(await tenant.call("POST", f"{path}/activate", key=key, json={"version": 1}), 409, "version-conflict")

    # activating checks the price again: the offer it was set against is gone
    assert (await tenant.call("POST", f"/v1/offers/{the_offer['id']}/deactivate")).status_code == 200
    problem(await tenant.call("POST", f"{path}/activate", key=key, json={"version": 2}), 409, "sku-not-offered", "sku")
    assert (await tenant.call("POST", f"/v1/offers/{the_offer['id']}/activate")).status_code == 200
    on = await tenant.call("POST", f"{path}/activate", key=key, json={"version": 2})
    assert on.status_code == 200 and on.json()["active"] is True and on.json()["version"] == 3
    assert on.json()["price"] == cny(400)
    again = await tenant.call("POST", f"{path}/deactivate", key=key, json={"version": 3})
    assert again.status_code == 200 and again.json()["version"] == 4

    history = (await tenant.call("GET", f"{path}/prices", key=key)).json()["data"]
    assert [p["version"] for p in history] == [1], "a status change is no price change"
    assert await event_types(tenant, key) == [
        "listing.created",
        "listing.deactivated",
        "listing.activated",
        "listing.deactivated",
    ]


# -- who sees what ----------------------------------------------------------------------------


async def test_a_channel_sees_only_its_own_and_anothers_is_not_found(tenant: Any) -> None:
    mine, my_key = await tenant.channel("Mine")
    other, other_key = await tenant.channel("Other")
    item = await offered(tenant)
    own = await listing(tenant, my_key, sku=item, price=cny(600))
    theirs = await listing(tenant, other_key, sku=item, price=cny(650))
    nowhere = "lst_" + theirs["id"][4:14] + "0" * 16

    assert [x["id"] for x in (await tenant.call("GET", "/v1/listings", key=my_key)).json()["data"]] == [own["id"]]
    assert (await tenant.call("GET", f"/v1/listings?channel_id={other['id']}", key=my_key)).json()["data"] == []
    before = await written(tenant.id)
    for method, suffix, body in (
        ("GET", "", None),
        ("GET", "/prices", None),
        ("PATCH", "", {"version": 1, "price": cny(1)}),
        ("PATCH", "", {"version": 1, "price": cny(700)}),
        ("POST", "/deactivate", None),
        ("POST", "/activate", {"version": 1}),
    ):
        hidden = await tenant.call(method, f"/v1/listings/{theirs['id']}{suffix}", key=my_key, json=body)
        missing = await tenant.call(method, f"/v1/listings/{nowhere}{suffix}", key=my_key, json=body)
        assert hidden.status_code == missing.status_code == 404, (method, suffix, hidden.text)
        assert hidden.json()["detail"].replace(theirs["id"], "<id>") == missing.json()["detail"].replace(
            nowhere, "<id>"
        )
    assert await written(tenant.id) == before
    assert (await tenant.call("GET", f"/v1/listings/{theirs['id']}", key=other_key)).json() == theirs
    assert {x["id"] for x in (await tenant.call("GET", "/v1/listings")).json()["data"]} == {own["id"], theirs["id"]}
    events = (await tenant.call("GET", "/v1/events?type=listing.created", key=my_key)).json()["data"]
    assert [e["data"]["id"] for e in events] == [own["id"]] and mine["id"] != other["id"]


async def test_the_operator_manages_every_channels_listings(tenant: Any) -> None:
    channel, key = await tenant.channel()
    made = await listing(tenant, key, sku=await offered(tenant), price=cny(600))
    path = f"/v1/listings/{made['id']}"
    assert (await tenant.call("GET", path)).json() == made
    assert (await tenant.call("PATCH", path, json={"version": 1, "price": cny(610)})).json()["version"] == 2
    assert (await tenant.call("POST", f"{path}/deactivate")).json()["active"] is False
    assert (await tenant.call("POST", f"{path}/activate")).json()["active"] is True
    # the channel's feed sees what the operator did to its listing
    assert await event_types(tenant, key) == [
        "listing.created",
        "listing.updated",
        "listing.deactivated",
        "listing.activated",
    ]
    assert [p["actor"] for p in (await tenant.call("GET", f"{path}/prices", key=key)).json()["data"]][0] != ""
    assert channel["id"] == made["channel_id"]


async def test_suppliers_and_publishable_keys_are_refused(tenant: Any, new_tenant: Any) -> None:
    channel, key = await tenant.channel()
    item = await offered(tenant)
    made = await listing(tenant, key, sku=item, price=cny(600))
    _, supplier_key = await tenant.supplier()
    publishable = await tenant.key("channel", channel["id"], kind="publishable")
    before = await written(tenant.id)
    for method, path, body in (
        ("GET", "/v1/listings", None),
        ("GET", f"/v1/listings/{made['id']}", None),
        ("GET", f"/v1/listings/{made['id']}/prices", None),
        ("POST", "/v1/listings", {"sku": item, "price": cny(700), "channel_id": channel["id"]}),
        ("PATCH", f"/v1/listings/{made['id']}", {"version": 1, "price": cny(700)}),
        ("POST", f"/v1/listings/{made['id']}/deactivate", None),
        ("POST", f"/v1/listings/{made['id']}/activate", None),
    ):
        for caller in (supplier_key, publishable):
            response = await tenant.call(method, path, key=caller, json=body)
            assert response.status_code == 403, (method, path, response.text)
            assert response.headers["content-type"] == "application/problem+json"
    assert await written(tenant.id) == before
    assert await event_types(tenant, supplier_key) == []

    other = await new_tenant("Other")
    assert (await other.call("GET", f"/v1/listings/{made['id']}")).status_code == 404
    assert (await other.call("GET", f"/v1/listings/{made['id']}/prices")).status_code == 404
    assert (await other.call("GET", "/v1/listings")).json()["data"] == []
    foreign = await other.call(
        "POST", "/v1/listings", json={"sku": item, "price": cny(700), "channel_id": channel["id"]}
    )
    assert foreign.status_code == 404 and "channel" in foreign.json()["detail"]


# -- listing ----------------------------------------------------------------------------------


async def test_filters_and_pagination(tenant: Any) -> None:
    first, first_key = await tenant.channel("First")
    second, second_key = await tenant.channel("Second")
    a, b = await offered(tenant), await offered(tenant)
    made = [
        await listing(tenant, first_key, sku=a, price=cny(600)),
        await listing(tenant, first_key, sku=b, price=cny(600), active=False),
        await listing(tenant, second_key, sku=a, price=cny(600)),
    ]

    async def ids(query: str, key: str | None = None) -> list[str]:
        page = (await tenant.call("GET", f"/v1/listings{query}", key=key)).json()
        return [x["id"] for x in page["data"]]

    assert await ids("") == [x["id"] for x in made]
    assert await ids(f"?sku={a}") == [made[0]["id"], made[2]["id"]]
    assert await ids(f"?channel_id={second['id']}") == [made[2]["id"]]
    assert await ids("?active=false") == [made[1]["id"]]
    assert await ids("?active=true", first_key) == [made[0]["id"]]
    assert await ids(f"?sku={b}&channel_id={first['id']}", first_key) == [made[1]["id"]]

    page = (await tenant.call("GET", "/v1/listings?limit=2")).json()
    assert page["has_more"] is True and page["next_cursor"] == made[1]["id"]
    rest = (await tenant.call("GET", f"/v1/listings?limit=2&after={page['next_cursor']}")).json()
    assert [x["id"] for x in rest["data"]] == [made[2]["id"]] and rest["has_more"] is False
    for query, field in (("?limit=0", "limit"), ("?after=off_1", "after"), ("?channel_id=x", "channel_id")):
        problem(await tenant.call("GET", f"/v1/listings{query}"), 400, "validation", field)


# -- for quotes and orders --------------------------------------------------------------------


async def test_listed_prices_are_the_active_listings_of_the_channel(
    tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel, key = await tenant.channel()
    _, other_key = await tenant.channel("Other")
    items = [await offered(tenant, 100) for _ in range(4)]
    made = [await listing(tenant, key, sku=item, price=cny(200 + i)) for i, item in enumerate(items[:3])]
    await listing(tenant, other_key, sku=items[3], price=cny(300))
    await tenant.call("POST", f"/v1/listings/{made[2]['id']}/deactivate", key=key)
    await tenant.call("PATCH", f"/v1/listings/{made[1]['id']}", key=key, json={"version": 1, "price": cny(250)})
    monkeypatch.setattr(services, "CHUNK", 2)  # several IN lists

    prices = await listed_prices(tenant.id, channel["id"], [*items, "NOT-A-SKU", items[0]])
    assert prices == {
        items[0]: ListedPrice(listing_id=made[0]["id"], sku=items[0], amount=200, currency="CNY", version=1),
        items[1]: ListedPrice(listing_id=made[1]["id"], sku=items[1], amount=250, currency="CNY", version=2),
    }
    assert await listed_prices(tenant.id, channel["id"], []) == {}
    assert await listed_prices("ten_" + "0" * 26, channel["id"], items) == {}


async def test_the_demo_channel_lists_what_is_offered_above_every_wholesale_price(database: Any) -> None:
    demo = await build_demo()
    tenant_id, channel_id = demo["tenant"]["id"], demo["channel"]["id"]
    rows = await db().fetch(
        "SELECT sku, MAX(wholesale_amount) AS wholesale, MAX(min_retail_amount) AS floor FROM offers "
        "WHERE tenant_id = ? AND active = ? GROUP BY sku",
        tenant_id,
        True,
    )
    prices = await listed_prices(tenant_id, channel_id, [row["sku"] for row in rows])
    assert set(prices) == {row["sku"] for row in rows} and prices
    for row in rows:
        price = prices[row["sku"]]
        assert price.amount >= max(row["wholesale"] * 13 / 10, row["floor"] or 0) and price.amount % 10 == 0
    repriced = await db().fetch("SELECT listing_id FROM listing_prices WHERE tenant_id = ? AND version = 2", tenant_id)
    assert len(repriced) == 1
