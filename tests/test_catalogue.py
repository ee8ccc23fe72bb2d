"""The tenant-wide catalogue: products with variants, owner rules, sku uniqueness, search,
pagination, versions and the batch upsert."""

from __future__ import annotations

import time
from typing import Any

import pytest


def product(title: str, *skus: str, **fields: Any) -> dict[str, Any]:
    return {"title": title, "variants": [{"sku": sku, "title": f"{title} {sku}"} for sku in skus], **fields}


async def create(tenant: Any, body: dict[str, Any], key: str | None = None) -> dict[str, Any]:
    response = await tenant.call("POST", "/v1/products", key, json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def list_all(tenant: Any, path: str, key: str | None = None, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    query = {"limit": 200, **params}
    while True:
        response = await tenant.call("GET", path, key, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["data"]
        if not page["has_more"]:
            return items
        query["after"] = page["next_cursor"]


async def batch(tenant: Any, products: list[dict[str, Any]], key: str | None = None) -> list[dict[str, Any]]:
    response = await tenant.call("POST", "/v1/products/batch", key, json={"products": products})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["index"] for r in results] == list(range(len(products)))
    return results  # type: ignore[no-any-return]


# -- create and read ---------------------------------------------------------------------------


async def test_operator_creates_a_product_with_variants_and_reads_it_back(tenant: Any) -> None:
    body = {
        "title": "Fuji apples",
        "description": "Crisp.\nSweet.",
        "category": "groceries/fruit",
        "attributes": {"origin": "Yantai", "产地": "烟台"},
        "media": ["https://img.example.com/apple.jpg"],
        "variants": [
            {
                "sku": "APPLE-1KG",
                "title": "1 kg",
                "options": {"weight": "1 kg"},
                "barcode": "6901234567892",
                "weight_grams": 1000,
            },
            {"sku": "APPLE-2KG", "title": "2 kg"},
        ],
    }
    created = await create(tenant, body)
    assert created["id"].startswith("prod_")
    assert created["supplier_id"] is None and created["status"] == "active" and created["version"] == 1
    assert created["attributes"] == body["attributes"] and created["media"] == body["media"]
    first, second = created["variants"]
    assert first["id"].startswith("var_") and first["product_id"] == created["id"]
    assert (first["sku"], first["options"], first["barcode"], first["weight_grams"]) == (
        "APPLE-1KG",
        {"weight": "1 kg"},
        "6901234567892",
        1000,
    )
    assert (second["options"], second["barcode"], second["weight_grams"], second["status"]) == (
        {},
        None,
        None,
        "active",
    )

    fetched = await tenant.call("GET", f"/v1/products/{created['id']}")
    assert fetched.status_code == 200 and fetched.json() == created
    variant = await tenant.call("GET", f"/v1/variants/{first['id']}")
    assert variant.json() == first
    by_sku = await tenant.call("GET", "/v1/variants", params={"sku": "APPLE-2KG"})
    assert [v["id"] for v in by_sku.json()["data"]] == [second["id"]]
    by_product = await list_all(tenant, "/v1/variants", product_id=created["id"])
    assert [v["sku"] for v in by_product] == ["APPLE-1KG", "APPLE-2KG"]

    events = await tenant.call("GET", "/v1/events", params={"type": "product.created"})
    assert [e["data"]["id"] for e in events.json()["data"]] == [created["id"]]


async def test_a_supplier_owns_what_it_creates(tenant: Any) -> None:
    (maker, maker_key), (other, other_key) = await tenant.supplier("Maker"), await tenant.supplier("Other")
    _, channel_key = await tenant.channel()
    mine = await create(tenant, product("Inner tube", "TUBE-700"), maker_key)
    assert mine["supplier_id"] == maker["id"]
    variant_id = mine["variants"][0]["id"]

    # the catalogue is tenant-wide: the other supplier and the channel read it
    for key in (other_key, channel_key):
        assert (await tenant.call("GET", f"/v1/products/{mine['id']}", key)).status_code == 200
        assert (await tenant.call("GET", f"/v1/variants/{variant_id}", key)).status_code == 200
        assert mine["id"] in [p["id"] for p in await list_all(tenant, "/v1/products", key)]

    # but only its creator (or the operator) changes it
    refused = [
        await tenant.call("PATCH", f"/v1/products/{mine['id']}", other_key, json={"version": 1, "title": "Mine now"}),
        await tenant.call("PATCH", f"/v1/variants/{variant_id}", other_key, json={"version": 1, "title": "x"}),
        await tenant.call("POST", f"/v1/products/{mine['id']}/variants", other_key, json={"sku": "T2", "title": "t"}),
    ]
    for response in refused:
        assert response.status_code == 403, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "/problems/not-owner"

    renamed = await tenant.call("PATCH", f"/v1/products/{mine['id']}", maker_key, json={"version": 1, "title": "Tube"})
    assert renamed.status_code == 200 and renamed.json()["title"] == "Tube" and renamed.json()["version"] == 2
    by_operator = await tenant.call("PATCH", f"/v1/products/{mine['id']}", json={"version": 2, "status": "archived"})
    assert by_operator.status_code == 200 and by_operator.json()["supplier_id"] == maker["id"]

    # channels never write the catalogue; a supplier cannot change the operator's products
    assert (await tenant.call("POST", "/v1/products", channel_key, json=product("X", "CH-1"))).status_code == 403
    operators = await create(tenant, product("Milk", "MILK-1"))
    assert (
        await tenant.call("PATCH", f"/v1/products/{operators['id']}", maker_key, json={"version": 1, "title": "M"})
    ).status_code == 403
    assert other["id"] != maker["id"]


async def test_a_draft_is_seen_only_by_its_creator_and_the_operator(tenant: Any) -> None:
    (_, maker_key), (_, other_key) = await tenant.supplier("Maker"), await tenant.supplier("Other")
    _, channel_key = await tenant.channel()
    draft = await create(tenant, product("Secret kit", "KIT-1", status="draft"), maker_key)
    variant_id = draft["variants"][0]["id"]

    for key in (None, maker_key):
        assert (await tenant.call("GET", f"/v1/products/{draft['id']}", key)).status_code == 200
        assert [v["id"] for v in await list_all(tenant, "/v1/variants", key, sku="KIT-1")] == [variant_id]
    for key in (other_key, channel_key):
        missing = await tenant.call("GET", f"/v1/products/{draft['id']}", key)
        assert missing.status_code == 404 and missing.json()["detail"] == f"No such product: {draft['id']}"
        assert (await tenant.call("GET", f"/v1/variants/{variant_id}", key)).status_code == 404
        assert draft["id"] not in [p["id"] for p in await list_all(tenant, "/v1/products", key)]
        assert await list_all(tenant, "/v1/variants", key, sku="KIT-1") == []
        assert (await tenant.call("PATCH", f"/v1/products/{draft['id']}", key, json={"version": 1})).status_code in (
            403,
            404,
        )

    published = await tenant.call(
        "PATCH", f"/v1/products/{draft['id']}", maker_key, json={"version": 1, "status": "active"}
    )
    assert published.status_code == 200
    assert (await tenant.call("GET", f"/v1/products/{draft['id']}", channel_key)).status_code == 200


async def test_another_tenant_cannot_see_or_touch_the_catalogue(tenant: Any, new_tenant: Any) -> None:
    mine = await create(tenant, product("Bread", "BREAD-1"))
    other = await new_tenant("Other")
    assert (await other.call("GET", f"/v1/products/{mine['id']}")).status_code == 404
    assert (await other.call("GET", f"/v1/variants/{mine['variants'][0]['id']}")).status_code == 404
    assert (await other.call("PATCH", f"/v1/products/{mine['id']}", json={"version": 1})).status_code == 404
    assert await list_all(other, "/v1/products") == []
    # skus are unique per tenant, not across tenants
    await create(other, product("Their bread", "BREAD-1"))


# -- sku uniqueness and validation ---------------------------------------------------------------


async def test_a_sku_is_unique_in_the_tenant_and_a_refused_create_writes_nothing(tenant: Any) -> None:
    first = await create(tenant, product("Sourdough", "SOUR-800"))
    taken = await tenant.call("POST", "/v1/products", json=product("Another", "NEW-1", "SOUR-800"))
    assert taken.status_code == 409
    assert taken.headers["content-type"] == "application/problem+json"
    problem = taken.json()
    assert problem["type"] == "/problems/sku-taken" and "SOUR-800" in problem["detail"]
    assert problem["errors"] == [
        {"field": "variants[1].sku", "message": "sku SOUR-800 is already used in this tenant", "location": "body"}
    ]
    assert [p["id"] for p in await list_all(tenant, "/v1/products")] == [first["id"]]
    assert await list_all(tenant, "/v1/variants", sku="NEW-1") == []

    twice = await tenant.call("POST", "/v1/products", json=product("Twice", "DUP-1", "DUP-1"))
    assert twice.status_code == 409 and twice.json()["type"] == "/problems/duplicate-sku"
    assert twice.json()["errors"][0]["field"] == "variants[1].sku"

    again = await tenant.call("POST", f"/v1/products/{first['id']}/variants", json={"sku": "SOUR-800", "title": "x"})
    assert again.status_code == 409 and again.json()["type"] == "/problems/sku-taken"
    added = await tenant.call("POST", f"/v1/products/{first['id']}/variants", json={"sku": "SOUR-400", "title": "Half"})
    assert added.status_code == 201 and added.json()["product_id"] == first["id"]
    assert [v["sku"] for v in (await tenant.call("GET", f"/v1/products/{first['id']}")).json()["variants"]] == [
        "SOUR-800",
        "SOUR-400",
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (product("Bad sku", "-starts-with-dash"), "variants[0].sku"),
        (product("Bad sku", "has space"), "variants[0].sku"),
        (product("Plain http", "H-1", media=["http://img.example.com/a.jpg"]), "media[0]"),
        (product("Too many media", "M-1", media=[f"https://e.example.com/{i}.jpg" for i in range(21)]), "media"),
        (product("Unknown field", "U-1", colour="red"), "colour"),
        ({"title": "No variants", "variants": []}, "variants"),
        (product("Too many variants", *[f"V-{i}" for i in range(101)]), "variants"),
        (product("Bad status", "S-1", status="deleted"), "status"),
        (product("\x00", "N-1"), "title"),
        (
            {"title": "Negative", "variants": [{"sku": "W-1", "title": "w", "weight_grams": -1}]},
            "variants[0].weight_grams",
        ),
        (product("Long key", "K-1", attributes={"k" * 65: "v"}), "attributes"),
    ],
)
async def test_a_malformed_product_is_a_400_naming_the_field(tenant: Any, body: dict[str, Any], field: str) -> None:
    response = await tenant.call("POST", "/v1/products", json=body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]


# -- search, filters, pagination ---------------------------------------------------------------------


async def test_search_filters_and_cursor_pagination(tenant: Any) -> None:
    (grocer, grocer_key), (bikes, bikes_key) = await tenant.supplier("Grocer"), await tenant.supplier("Bikes")
    apples = await create(tenant, product("Fuji Apples", "FVG-APPLE-1", category="groceries/fruit"), grocer_key)
    rice = await create(tenant, product("Jasmine rice", "FVG-RICE-5", category="groceries/pantry"), grocer_key)
    tube = await create(tenant, product("Inner tube 700c", "HBP-TUBE", category="bike-parts"), bikes_key)
    discount = await create(tenant, product("100% juice_box", "JUICE-1", category="groceries/drinks"))
    archived = await create(tenant, product("Old apple press", "PRESS-1", status="archived"))
    everything = [apples, rice, tube, discount, archived]

    async def ids(**params: Any) -> list[str]:
        return [p["id"] for p in await list_all(tenant, "/v1/products", **params)]

    assert await ids() == [p["id"] for p in everything]
    assert await ids(q="APPLE") == [apples["id"], archived["id"]]  # title, any case
    assert await ids(q="fvg-rice") == [rice["id"]]  # sku, any case
    assert await ids(q="100%") == [discount["id"]]  # % and _ are literal
    assert await ids(q="e_b") == [discount["id"]]
    assert await ids(q="0%j") == []
    assert await ids(category="groceries/fruit") == [apples["id"]]
    assert await ids(supplier_id=grocer["id"]) == [apples["id"], rice["id"]]
    assert await ids(supplier_id=bikes["id"], q="tube") == [tube["id"]]
    assert await ids(status="archived") == [archived["id"]]

    updated = await tenant.call("PATCH", f"/v1/products/{rice['id']}", grocer_key, json={"version": 1, "title": "Rice"})
    since = updated.json()["updated_at"]
    assert await ids(updated_since=since) == [rice["id"]]
    assert await ids(updated_since="2000-01-01T00:00:00Z") == [p["id"] for p in everything]
    assert await ids(updated_since="2999-01-01T00:00:00+08:00") == []

    pages, after = [], None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"after": after} if after else {})}
        page = (await tenant.call("GET", "/v1/products", params=params)).json()
        pages.append([p["id"] for p in page["data"]])
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        after = page["next_cursor"]
    assert pages == [[apples["id"], rice["id"]], [tube["id"], discount["id"]], [archived["id"]]]

    assert await ids(updated_since="0001-01-01T00:00:00+05:00") == [p["id"] for p in everything]  # before year 1 in UTC
    assert await ids(updated_since="9999-12-31T23:59:60-05:00") == []  # a leap second, after 9999 in UTC
    bad_times = (
        "yesterday",
        "0.5",
        "1700000000",
        "2024-01-01T12:99:00Z",
        "2024-02-30T00:00:00Z",
        "2024-01-01T00:00:00",
    )
    for params in (
        {"q": ""},
        {"limit": 0},
        {"supplier_id": "nope"},
        {"after": "x"},
        *({"updated_since": bad} for bad in bad_times),
    ):
        response = await tenant.call("GET", "/v1/products", params=params)
        assert response.status_code == 400, (params, response.text)
        assert response.json()["errors"][0]["location"] == "query"


# -- updates and versions --------------------------------------------------------------------------


async def test_updates_check_the_version_and_variant_changes_move_the_product(tenant: Any) -> None:
    created = await create(tenant, product("Croissant", "CR-1", category="bakery", attributes={"a": "b"}))
    path = f"/v1/products/{created['id']}"
    changed = await tenant.call(
        "PATCH", path, json={"version": 1, "category": None, "media": ["https://x.example.com/c"]}
    )
    assert changed.status_code == 200
    body = changed.json()
    assert (body["category"], body["media"], body["attributes"], body["version"]) == (
        None,
        ["https://x.example.com/c"],
        {"a": "b"},
        2,
    )
    stale = await tenant.call("PATCH", path, json={"version": 1, "title": "Late"})
    assert stale.status_code == 409 and stale.json()["type"] == "/problems/version-conflict"
    assert (await tenant.call("GET", path)).json()["title"] == "Croissant"

    variant = created["variants"][0]
    renamed = await tenant.call(
        "PATCH",
        f"/v1/variants/{variant['id']}",
        json={"version": 1, "title": "Butter croissant", "weight_grams": 70, "options": {"pack": "1"}},
    )
    assert renamed.status_code == 200
    assert (renamed.json()["version"], renamed.json()["sku"], renamed.json()["weight_grams"]) == (2, "CR-1", 70)
    assert (
        await tenant.call("PATCH", f"/v1/variants/{variant['id']}", json={"version": 1, "title": "Late"})
    ).status_code == 409
    assert (
        await tenant.call("PATCH", f"/v1/variants/{variant['id']}", json={"version": 2, "sku": "NEW"})
    ).status_code == 400  # a sku never changes

    after = (await tenant.call("GET", path)).json()
    assert after["version"] == 2  # the product's own fields did not change...
    assert after["updated_at"] > body["updated_at"]  # ...but it did
    assert after["variants"][0]["title"] == "Butter croissant"
    events = (await tenant.call("GET", "/v1/events", params={"type": "product.updated"})).json()["data"]
    assert [e["data"]["id"] for e in events] == [created["id"]] * 2
    assert events[-1]["data"]["variants"][0]["title"] == "Butter croissant"


# -- the batch upsert --------------------------------------------------------------------------------


def catalogue(count: int, prefix: str = "B") -> list[dict[str, Any]]:
    return [
        {
            "title": f"Product {i}",
            "category": "groceries" if i % 2 else "bakery",
            "attributes": {"n": str(i)},
            "variants": [
                {"sku": f"{prefix}-{i}-S", "title": "small", "options": {"size": "S"}, "weight_grams": 100},
                {"sku": f"{prefix}-{i}-L", "title": "large", "options": {"size": "L"}},
            ],
        }
        for i in range(count)
    ]


async def test_a_batch_of_600_creates_then_is_unchanged_then_updates(tenant: Any) -> None:
    items = catalogue(600)
    started = time.perf_counter()
    results = await batch(tenant, items)
    elapsed = time.perf_counter() - started
    assert {r["status"] for r in results} == {"created"}
    assert elapsed < 10, f"600 products took {elapsed:.1f}s"
    products = await list_all(tenant, "/v1/products")
    assert [p["id"] for p in products] == [r["product_id"] for r in results]
    assert products[7]["variants"][0]["sku"] == "B-7-S" and products[7]["attributes"] == {"n": "7"}

    again = await batch(tenant, items)
    assert [(r["status"], r["product_id"]) for r in again] == [("unchanged", r["product_id"]) for r in results]

    items[3]["title"] = "Renamed"
    items[5]["variants"][1]["weight_grams"] = 900
    items[9]["variants"].append({"sku": "B-9-XL", "title": "extra large"})
    changed = await batch(tenant, items)
    assert [r["index"] for r in changed if r["status"] == "updated"] == [3, 5, 9]
    assert {r["status"] for i, r in enumerate(changed) if i not in (3, 5, 9)} == {"unchanged"}
    assert len(await list_all(tenant, "/v1/products")) == 600  # no duplicates

    three = (await tenant.call("GET", f"/v1/products/{results[3]['product_id']}")).json()
    assert (three["title"], three["version"]) == ("Renamed", 2)
    five = (await tenant.call("GET", f"/v1/products/{results[5]['product_id']}")).json()
    assert (five["version"], five["variants"][1]["weight_grams"], five["variants"][1]["version"]) == (1, 900, 2)
    nine = (await tenant.call("GET", f"/v1/products/{results[9]['product_id']}")).json()
    assert [v["sku"] for v in nine["variants"]] == ["B-9-S", "B-9-L", "B-9-XL"]
    created_events = (await tenant.call("GET", "/v1/events", params={"type": "product.created", "limit": 200})).json()
    assert len(created_events["data"]) == 200 and created_events["has_more"]


async def test_a_bad_item_never_affects_the_others_and_is_never_partly_applied(tenant: Any) -> None:
    (_, maker_key), (_, other_key) = await tenant.supplier("Maker"), await tenant.supplier("Other")
    theirs = await create(tenant, product("Theirs", "T-1"), other_key)
    mine = await create(tenant, product("Mine", "M-1"), maker_key)
    full = await create(tenant, product("Full", *[f"F-{i}" for i in range(100)]), maker_key)

    items = catalogue(10, "X")
    items[2]["variants"].append({"sku": "T-1", "title": "not mine"})  # another supplier's sku
    items[4]["variants"].append({"sku": "X-4-S", "title": "again"})  # twice in one item
    items[5]["variants"][0]["sku"] = "X-6-S"  # also in item 6
    items[7]["variants"] = [{"sku": "M-1", "title": "Mine"}, {"sku": "F-0", "title": "Full"}]  # two products
    items[8]["variants"] = [{"sku": "F-1", "title": "same"}, {"sku": "F-NEW", "title": "101st"}]
    results = await batch(tenant, items, maker_key)

    errors = {r["index"]: (r["error"]["code"], r["error"]["field"]) for r in results if r["status"] == "error"}
    assert errors == {
        2: ("sku_taken", "products[2].variants[2].sku"),
        4: ("duplicate_sku", "products[4].variants[2].sku"),
        5: ("duplicate_sku", "products[5].variants[0].sku"),
        6: ("duplicate_sku", "products[6].variants[0].sku"),
        7: ("ambiguous_product", "products[7].variants[1].sku"),
        8: ("too_many_variants", "products[8].variants"),
    }
    assert all("product_id" not in r for r in results if r["status"] == "error")
    assert [r["status"] for i, r in enumerate(results) if i not in errors] == ["created"] * 4

    # nothing of a refused item was written
    for sku in ("X-2-S", "X-4-S", "X-5-L", "X-6-S", "F-NEW"):
        assert await list_all(tenant, "/v1/variants", sku=sku) == [], sku
    assert (await tenant.call("GET", f"/v1/products/{theirs['id']}")).json()["title"] == "Theirs"
    assert (await tenant.call("GET", f"/v1/products/{mine['id']}")).json()["title"] == "Mine"
    assert len((await tenant.call("GET", f"/v1/products/{full['id']}")).json()["variants"]) == 100


async def test_a_batch_update_keeps_what_the_item_leaves_out(tenant: Any) -> None:
    (_, key) = await tenant.supplier("Maker")
    first = await batch(
        tenant,
        [
            {
                "title": "Apples",
                "description": "Crisp",
                "category": "fruit",
                "status": "draft",
                "media": ["https://img.example.com/a.jpg"],
                "variants": [
                    {"sku": "AP-1", "title": "1 kg", "barcode": "123", "weight_grams": 1000},
                    {"sku": "AP-2", "title": "2 kg"},
                ],
            }
        ],
        key,
    )
    product_id = first[0]["product_id"]
    second = await batch(
        tenant, [{"title": "Apples", "status": "active", "variants": [{"sku": "AP-1", "title": "1 kg"}]}], key
    )
    assert second == [{"index": 0, "status": "updated", "product_id": product_id}]
    after = (await tenant.call("GET", f"/v1/products/{product_id}", key)).json()
    assert (after["description"], after["category"], after["status"], after["media"]) == (
        "Crisp",
        "fruit",
        "active",
        ["https://img.example.com/a.jpg"],
    )
    assert [(v["sku"], v["barcode"], v["weight_grams"]) for v in after["variants"]] == [
        ("AP-1", "123", 1000),
        ("AP-2", None, None),
    ]
    cleared = await batch(
        tenant,
        [{"title": "Apples", "category": None, "variants": [{"sku": "AP-1", "title": "1 kg", "barcode": None}]}],
        key,
    )
    assert cleared[0]["status"] == "updated"
    after = (await tenant.call("GET", f"/v1/products/{product_id}", key)).json()
    assert (after["category"], after["variants"][0]["barcode"]) == (None, None)

    # the operator may update a supplier's product; the result keeps its owner
    by_operator = await batch(tenant, [{"title": "Apples (moderated)", "variants": [{"sku": "AP-2", "title": "2 kg"}]}])
    assert by_operator[0] == {"index": 0, "status": "updated", "product_id": product_id}
    assert (await tenant.call("GET", f"/v1/products/{product_id}")).json()["supplier_id"] is not None


async def test_batch_limits_are_enforced_by_the_schema(tenant: Any) -> None:
    response = await tenant.call("POST", "/v1/products/batch", json={"products": catalogue(1001)})
    assert response.status_code in (400, 413)
    assert (await tenant.call("POST", "/v1/products/batch", json={"products": []})).status_code == 400
    _, channel_key = await tenant.channel()
    assert (
        await tenant.call("POST", "/v1/products/batch", channel_key, json={"products": catalogue(1)})
    ).status_code == 403


# -- what other areas ask ------------------------------------------------------------------------


async def test_sku_states_answer_what_a_principal_may_see(tenant: Any) -> None:
    from gateway.tenancy.principal import Principal
    from suppliers.catalogue.services import sku_states

    (maker, maker_key), (other, _) = await tenant.supplier("Maker"), await tenant.supplier("Other")
    await create(tenant, product("Kit", "ST-DRAFT", status="draft"), maker_key)
    tube = await create(tenant, product("Tube", "ST-ACTIVE", "ST-OLD"), maker_key)
    old = tube["variants"][1]
    await tenant.call("PATCH", f"/v1/variants/{old['id']}", maker_key, json={"version": 1, "status": "archived"})

    def supplier(ident: str) -> Principal:
        return Principal(tenant_id=tenant.id, type="supplier", owner_id=ident, key_id="t", key_kind="secret")

    seen_by_other = await sku_states(supplier(other["id"]), ["ST-DRAFT", "ST-ACTIVE", "ST-OLD", "NOPE"])
    assert sorted(seen_by_other) == ["ST-ACTIVE", "ST-OLD"]
    assert seen_by_other["ST-ACTIVE"].sellable and not seen_by_other["ST-OLD"].sellable
    assert (seen_by_other["ST-ACTIVE"].product_id, seen_by_other["ST-ACTIVE"].supplier_id) == (tube["id"], maker["id"])
    seen_by_maker = await sku_states(supplier(maker["id"]), ["ST-DRAFT", "ST-ACTIVE"])
    assert sorted(seen_by_maker) == ["ST-ACTIVE", "ST-DRAFT"] and not seen_by_maker["ST-DRAFT"].sellable


async def test_racing_writers_of_one_sku_get_one_winner_and_no_error(tenant: Any, direct: Any) -> None:
    import asyncio

    (_, key) = await tenant.supplier("Racer")
    headers = tenant.auth(key)
    for round_ in range(5):
        body = product("Raced", f"RACE-{round_}")
        answers = await asyncio.gather(*(direct.post("/v1/products", headers=headers, json=body) for _ in range(4)))
        assert sorted(a.status_code for a in answers) == [201, 409, 409, 409], [a.text for a in answers]
        assert {a.json()["type"] for a in answers if a.status_code == 409} == {"/problems/sku-taken"}

    items = catalogue(50, "RB")
    answers = await asyncio.gather(
        *(direct.post("/v1/products/batch", headers=headers, json={"products": items}) for _ in range(3))
    )
    assert [a.status_code for a in answers] == [200, 200, 200], [a.text[:300] for a in answers]
    statuses = [[r["status"] for r in a.json()["results"]] for a in answers]
    for index in range(50):
        assert sorted(s[index] for s in statuses) == ["created", "unchanged", "unchanged"], index
    assert len(await list_all(tenant, "/v1/products", q="Product ")) == 50


async def test_a_sku_taken_by_a_transaction_in_flight_is_a_409_not_a_500(
    tenant: Any, direct: Any, settings: Any
) -> None:
    """Another writer holds the sku uncommitted while the request reads: on PostgreSQL the
    request's insert then meets the unique index (and is retried); on SQLite it waits for the
    write lock. Either way: 409 `sku-taken`, nothing written."""
    import asyncio
    import sqlite3
    from datetime import UTC, datetime

    import asyncpg

    from gateway.ids import new_id
    from gateway.storage import sqlite_path

    now = datetime.now(UTC)
    product_id = new_id("prod")
    rows = [
        (
            "INSERT INTO products (id, tenant_id, title, description, category, status, attributes, media, "
            "supplier_id, version, created_at, updated_at) VALUES (?, ?, 'Held', '', NULL, 'active', '{}', '[]', "
            "NULL, 1, ?, ?)",
            [product_id, tenant.id, now, now],
        ),
        (
            "INSERT INTO variants (id, tenant_id, product_id, sku, title, options, barcode, weight_grams, status, "
            "version, created_at, updated_at) VALUES (?, ?, ?, 'INFLIGHT-1', 'Held', '{}', NULL, NULL, 'active', 1, ?, ?)",
            [new_id("var"), tenant.id, product_id, now, now],
        ),
    ]

    def send() -> Any:
        body = product("Late", "INFLIGHT-2", "INFLIGHT-1")
        return asyncio.ensure_future(direct.post("/v1/products", headers=tenant.op, json=body))

    if settings.dialect == "postgres":
        conn = await asyncpg.connect(settings.database_url)
        transaction = conn.transaction()
        await transaction.start()
        try:
            for sql, args in rows:
                numbers = iter(range(1, 100))
                await conn.execute("".join(f"${next(numbers)}" if c == "?" else c for c in sql), *args)
            task = send()
            await asyncio.sleep(0.5)
            assert not task.done(), "the request should be waiting for the held sku"
        finally:
            await transaction.commit()
            await conn.close()
    else:
        conn = sqlite3.connect(sqlite_path(settings.database_url), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            for sql, args in rows:
                conn.execute(sql, [a.isoformat(" ") if isinstance(a, datetime) else a for a in args])
            task = send()
            await asyncio.sleep(0.5)
            assert not task.done(), "the request should be waiting for the write lock"
        finally:
            conn.execute("COMMIT")
            conn.close()
    response = await asyncio.wait_for(task, 20)
    assert response.status_code == 409, response.text
    assert response.json()["type"] == "/problems/sku-taken" and "INFLIGHT-1" in response.json()["detail"]
    assert await list_all(tenant, "/v1/variants", sku="INFLIGHT-2") == []
