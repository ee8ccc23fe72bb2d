"""Locations: a supplier's stores, warehouses, kitchens and pickup points."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.storage import db
from suppliers.locations.schemas import OpeningHours
from suppliers.locations.services import is_open, locations_of

STORE: dict[str, Any] = {
    "name": "Wulin store",
    "kind": "store",
    "lat": 30.2741,
    "lng": 120.1635,
    "service_radius_km": 5,
    "modes": ["delivery", "pickup"],
    "prep_minutes": 15,
}
FULL: dict[str, Any] = {
    **STORE,
    "address": {
        "line1": "1 Wulin Square",
        "city": "Hangzhou",
        "region": "Zhejiang",
        "postal_code": "310006",
        "country": "CN",
    },
    "opening_hours": {"mon": [["08:00", "12:00"], ["13:00", "20:00"]], "sat": [["22:00", "02:00"]]},
    "timezone": "Asia/Shanghai",
    "daily_capacity": 300,
}


async def _count(tenant_id: str) -> int:
    rows = await db().fetch("SELECT COUNT(*) AS n FROM locations WHERE tenant_id = ?", tenant_id)
    return int(rows[0]["n"])


async def _create(tenant: Any, key: str | None = None, **fields: Any) -> dict[str, Any]:
    response = await tenant.call("POST", "/v1/locations", key=key, json={**STORE, **fields})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


# -- creating ---------------------------------------------------------------------------------


async def test_a_supplier_creates_its_own_location_with_defaults(tenant: Any) -> None:
    supplier, key = await tenant.supplier("Fresh Valley")
    created = await _create(tenant, key)
    assert created["id"].startswith("loc_")
    assert created["supplier_id"] == supplier["id"]
    assert created["status"] == "active" and created["version"] == 1
    assert created["timezone"] == "UTC" and created["daily_capacity"] is None and created["address"] is None
    assert created["opening_hours"] == {day: [] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    assert created["modes"] == ["delivery", "pickup"] and created["service_radius_km"] == 5.0
    fetched = await tenant.call("GET", f"/v1/locations/{created['id']}", key=key)
    assert fetched.status_code == 200 and fetched.json() == created


async def test_every_field_round_trips(tenant: Any) -> None:
    _, key = await tenant.supplier()
    created = await _create(tenant, key, **FULL)
    assert created["address"] == {**FULL["address"], "line2": None}
    assert created["opening_hours"]["mon"] == [["08:00", "12:00"], ["13:00", "20:00"]]
    assert created["opening_hours"]["sat"] == [["22:00", "02:00"]] and created["opening_hours"]["sun"] == []
    assert (created["timezone"], created["daily_capacity"], created["lat"]) == ("Asia/Shanghai", 300, 30.2741)
    assert (await tenant.call("GET", f"/v1/locations/{created['id']}")).json() == created


async def test_the_operator_names_the_supplier(tenant: Any) -> None:
    supplier, _ = await tenant.supplier()
    created = await _create(tenant, supplier_id=supplier["id"])
    assert created["supplier_id"] == supplier["id"]

    missing = await tenant.call("POST", "/v1/locations", json=STORE)
    assert missing.status_code == 403
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["type"] == "/problems/supplier-required"
    assert [e["field"] for e in missing.json()["errors"]] == ["supplier_id"]

    unknown = await tenant.call("POST", "/v1/locations", json={**STORE, "supplier_id": "sup_" + "0" * 26})
    assert unknown.status_code == 404 and unknown.json()["detail"] == f"No such supplier: sup_{'0' * 26}"


async def test_another_tenants_supplier_is_unknown(tenant: Any, new_tenant: Any) -> None:
    other = await new_tenant("Other")
    foreign, _ = await other.supplier()
    before = await _count(tenant.id)
    response = await tenant.call("POST", "/v1/locations", json={**STORE, "supplier_id": foreign["id"]})
    assert response.status_code == 404
    assert response.json()["detail"] == f"No such supplier: {foreign['id']}"
    assert await _count(tenant.id) == before and await _count(other.id) == 0


async def test_a_supplier_cannot_create_for_another(tenant: Any) -> None:
    mine, key = await tenant.supplier("Mine")
    other, _ = await tenant.supplier("Other")
    assert (await _create(tenant, key, supplier_id=mine["id"]))["supplier_id"] == mine["id"]
    for supplier_id in (other["id"], "sup_" + "0" * 26):  # another's and nobody's: the same answer
        response = await tenant.call("POST", "/v1/locations", key=key, json={**STORE, "supplier_id": supplier_id})
        assert response.status_code == 403
        assert response.json()["errors"][0]["field"] == "supplier_id"


BAD = [
    ({"lat": 90.5}, "lat"),
    ({"lng": -180.01}, "lng"),
    ({"service_radius_km": 1000.5}, "service_radius_km"),
    ({"service_radius_km": -1}, "service_radius_km"),
    ({"prep_minutes": -1}, "prep_minutes"),
    ({"prep_minutes": 10081}, "prep_minutes"),
    ({"prep_minutes": 1.5}, "prep_minutes"),
    ({"kind": "shop"}, "kind"),
    ({"modes": []}, "modes"),
    ({"modes": ["drone"]}, "modes[0]"),
    ({"modes": ["pickup", "pickup"]}, "modes"),
    ({"daily_capacity": 0}, "daily_capacity"),
    ({"name": " "}, "name"),
    ({"timezone": "../etc/passwd"}, "timezone"),
    ({"timezone": "Asia/Shanghai.x"}, "timezone"),
    ({"opening_hours": {"mon": [["08:00", "24:00"]]}}, "opening_hours.mon[0][1]"),
    ({"opening_hours": {"tue": [["8:00", "20:00"]]}}, "opening_hours.tue[0][0]"),
    ({"opening_hours": {"wed": [["08:00"]]}}, "opening_hours.wed[0]"),
    ({"opening_hours": {"wed": [["08:00", "09:00", "10:00"]]}}, "opening_hours.wed[0]"),
    ({"opening_hours": {"thu": [["08:00", "09:00"]] * 7}}, "opening_hours.thu"),
    ({"opening_hours": {"monday": [["08:00", "09:00"]]}}, "opening_hours.monday"),
    ({"opening_hours": {"fri": "08:00-20:00"}}, "opening_hours.fri"),
    ({"address": {"line1": "1 Road", "city": "Hangzhou", "country": "cn"}}, "address.country"),
    ({"address": {"line1": "1 Road", "country": "CN"}}, "address.city"),
    ({"address": {"line1": "1 Road", "city": "Hangzhou", "country": "CN", "floor": 3}}, "address.floor"),
    ({"colour": "red"}, "colour"),
]


@pytest.mark.parametrize(("change", "field"), BAD, ids=[f for _, f in BAD])
async def test_bad_fields_are_named_and_nothing_is_written(tenant: Any, change: dict[str, Any], field: str) -> None:
    _, key = await tenant.supplier()
    before = await _count(tenant.id)
    response = await tenant.call("POST", "/v1/locations", key=key, json={**STORE, **change})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]], response.json()
    assert await _count(tenant.id) == before


async def test_missing_required_fields_are_named(tenant: Any) -> None:
    _, key = await tenant.supplier()
    for field in ("name", "kind", "lat", "lng", "service_radius_km", "modes", "prep_minutes"):
        body = {k: v for k, v in STORE.items() if k != field}
        response = await tenant.call("POST", "/v1/locations", key=key, json=body)
        assert response.status_code == 400 and response.json()["errors"][0]["field"] == field


async def test_an_unknown_time_zone_is_a_404_naming_the_field(tenant: Any) -> None:
    _, key = await tenant.supplier()
    before = await _count(tenant.id)
    for name in ("Mars/Olympus_Mons", "America", "asia/shanghai"):
        response = await tenant.call("POST", "/v1/locations", key=key, json={**STORE, "timezone": name})
        assert response.status_code == 404, (name, response.text)
        assert response.json()["type"] == "/problems/unknown-timezone"
        assert response.json()["errors"][0]["field"] == "timezone"
    assert await _count(tenant.id) == before
    for name in ("Europe/London", "America/Argentina/Buenos_Aires", "Etc/GMT+5", "UTC"):
        assert (await _create(tenant, key, timezone=name))["timezone"] == name


# -- who sees what ----------------------------------------------------------------------------


async def test_a_supplier_sees_only_its_own_and_anothers_is_not_found(tenant: Any) -> None:
    mine, my_key = await tenant.supplier("Mine")
    other, other_key = await tenant.supplier("Other")
    own = await _create(tenant, my_key)
    theirs = await _create(tenant, other_key)
    nowhere = "loc_" + theirs["id"][4:14] + "0" * 16

    listed = (await tenant.call("GET", "/v1/locations", key=my_key)).json()["data"]
    assert [loc["id"] for loc in listed] == [own["id"]]
    assert (await tenant.call("GET", f"/v1/locations?supplier_id={other['id']}", key=my_key)).json()["data"] == []

    for method, suffix, body in (
        ("GET", "", None),
        ("PATCH", "", {"version": 1, "name": "Mine now"}),
        ("POST", "/deactivate", None),
        ("POST", "/activate", {"version": 1}),
    ):
        hidden = await tenant.call(method, f"/v1/locations/{theirs['id']}{suffix}", key=my_key, json=body)
        missing = await tenant.call(method, f"/v1/locations/{nowhere}{suffix}", key=my_key, json=body)
        assert hidden.status_code == missing.status_code == 404, (method, suffix, hidden.text)
        assert hidden.json()["detail"].replace(theirs["id"], "<id>") == missing.json()["detail"].replace(
            nowhere, "<id>"
        )
    assert (await tenant.call("GET", f"/v1/locations/{theirs['id']}", key=other_key)).json() == theirs

    everything = (await tenant.call("GET", "/v1/locations")).json()["data"]
    assert {loc["id"] for loc in everything} == {own["id"], theirs["id"]}
    assert mine["id"] != other["id"]


async def test_channels_and_publishable_keys_are_refused(tenant: Any) -> None:
    supplier, key = await tenant.supplier()
    location = await _create(tenant, key)
    _, channel_key = await tenant.channel()
    for method, path, body in (
        ("GET", "/v1/locations", None),
        ("GET", f"/v1/locations/{location['id']}", None),
        ("POST", "/v1/locations", {**STORE, "supplier_id": supplier["id"]}),
        ("PATCH", f"/v1/locations/{location['id']}", {"version": 1}),
        ("POST", f"/v1/locations/{location['id']}/deactivate", None),
    ):
        response = await tenant.call(method, path, key=channel_key, json=body)
        assert response.status_code == 403, (method, path, response.text)
    publishable = await tenant.key("supplier", supplier["id"], kind="publishable")
    assert (await tenant.call("GET", "/v1/locations", key=publishable)).status_code == 403


async def test_another_tenant_cannot_see_or_touch_a_location(tenant: Any, new_tenant: Any) -> None:
    _, key = await tenant.supplier()
    location = await _create(tenant, key)
    other = await new_tenant("Other")
    assert (await other.call("GET", f"/v1/locations/{location['id']}")).status_code == 404
    assert (await other.call("POST", f"/v1/locations/{location['id']}/deactivate")).status_code == 404
    assert (await other.call("GET", "/v1/locations")).json()["data"] == []
    assert (await tenant.call("GET", f"/v1/locations/{location['id']}")).json() == location


# -- changing ---------------------------------------------------------------------------------


async def test_patch_changes_what_it_names_and_clears_with_null(tenant: Any) -> None:
    _, key = await tenant.supplier()
    location = await _create(tenant, key, **FULL)
    response = await tenant.call(
        "PATCH",
        f"/v1/locations/{location['id']}",
        key=key,
        json={"version": 1, "name": "Wulin flagship", "modes": ["pickup"], "address": None, "daily_capacity": None},
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["version"] == 2 and changed["name"] == "Wulin flagship" and changed["modes"] == ["pickup"]
    assert changed["address"] is None and changed["daily_capacity"] is None
    assert changed["opening_hours"] == location["opening_hours"] and changed["timezone"] == "Asia/Shanghai"

    cleared = await tenant.call(
        "PATCH", f"/v1/locations/{location['id']}", key=key, json={"version": 2, "opening_hours": None, "lat": -33.86}
    )
    assert cleared.json()["opening_hours"]["mon"] == [] and cleared.json()["lat"] == -33.86


async def test_stale_version_and_bad_values_change_nothing(tenant: Any) -> None:
    _, key = await tenant.supplier()
    location = await _create(tenant, key)
    path = f"/v1/locations/{location['id']}"
    assert (await tenant.call("PATCH", path, key=key, json={"version": 1, "name": "Two"})).status_code == 200

    stale = await tenant.call("PATCH", path, key=key, json={"version": 1, "name": "Lost"})
    assert stale.status_code == 409 and stale.json()["type"] == "/problems/version-conflict"
    duplicate = await tenant.call("PATCH", path, key=key, json={"version": 2, "modes": ["delivery", "delivery"]})
    assert duplicate.status_code == 400 and duplicate.json()["errors"][0]["field"] == "modes"
    zone = await tenant.call("PATCH", path, key=key, json={"version": 2, "timezone": "Atlantis/Capital"})
    assert zone.status_code == 404 and zone.json()["errors"][0]["field"] == "timezone"
    far = await tenant.call("PATCH", path, key=key, json={"version": 2, "lng": 181})
    assert far.status_code == 400 and far.json()["errors"][0]["field"] == "lng"
    sneaky = await tenant.call("PATCH", path, key=key, json={"version": 2, "supplier_id": "sup_" + "0" * 26})
    assert sneaky.status_code == 400 and sneaky.json()["errors"][0]["field"] == "supplier_id"
    current = (await tenant.call("GET", path, key=key)).json()
    assert current["version"] == 2 and current["name"] == "Two" and current["modes"] == STORE["modes"]


async def test_deactivate_and_activate_with_optional_version(tenant: Any) -> None:
    _, key = await tenant.supplier()
    location = await _create(tenant, key)
    path = f"/v1/locations/{location['id']}"
    off = await tenant.call("POST", f"{path}/deactivate", key=key)
    assert off.status_code == 200 and off.json()["status"] == "inactive" and off.json()["version"] == 2
    stale = await tenant.call("POST", f"{path}/activate", key=key, json={"version": 1})
    assert stale.status_code == 409
    on = await tenant.call("POST", f"{path}/activate", key=key, json={"version": 2})
    assert on.status_code == 200 and on.json()["status"] == "active"
    inactive = await tenant.call("GET", "/v1/locations?status=inactive", key=key)
    assert inactive.json()["data"] == []


async def test_changes_are_events_for_the_owner_only(tenant: Any) -> None:
    _, key = await tenant.supplier("Owner")
    _, other_key = await tenant.supplier("Other")
    location = await _create(tenant, key)
    await tenant.call("PATCH", f"/v1/locations/{location['id']}", key=key, json={"version": 1, "prep_minutes": 20})
    await tenant.call("POST", f"/v1/locations/{location['id']}/deactivate", key=key)
    await tenant.call("POST", f"/v1/locations/{location['id']}/activate", key=key)
    query = "/v1/events?type=location.created&type=location.updated&type=location.deactivated&type=location.activated"
    events = (await tenant.call("GET", query, key=key)).json()["data"]
    assert [e["type"] for e in events] == [
        "location.created",
        "location.updated",
        "location.deactivated",
        "location.activated",
    ]
    assert events[1]["data"]["prep_minutes"] == 20 and events[2]["data"]["status"] == "inactive"
    assert (await tenant.call("GET", query, key=other_key)).json()["data"] == []


# -- listing ----------------------------------------------------------------------------------


async def test_filters_and_pagination(tenant: Any) -> None:
    first, first_key = await tenant.supplier("First")
    second, second_key = await tenant.supplier("Second")
    made = [
        await _create(tenant, first_key, kind="store"),
        await _create(tenant, first_key, kind="forward_warehouse"),
        await _create(tenant, second_key, kind="store"),
        await _create(tenant, second_key, kind="pickup_point", modes=["pickup"]),
        await _create(tenant, second_key, kind="central_warehouse"),
    ]
    await tenant.call("POST", f"/v1/locations/{made[2]['id']}/deactivate")

    async def ids(query: str, key: str | None = None) -> list[str]:
        response = await tenant.call("GET", f"/v1/locations{query}", key=key)
        assert response.status_code == 200, response.text
        return [loc["id"] for loc in response.json()["data"]]

    assert await ids(f"?supplier_id={second['id']}") == [m["id"] for m in made[2:]]
    assert await ids("?kind=store") == [made[0]["id"], made[2]["id"]]
    assert await ids("?kind=store&status=active") == [made[0]["id"]]
    assert await ids(f"?status=inactive&supplier_id={first['id']}") == []
    assert await ids("?kind=store", first_key) == [made[0]["id"]]

    walked: list[str] = []
    after = ""
    while True:
        page = (await tenant.call("GET", f"/v1/locations?limit=2{after}")).json()
        walked += [loc["id"] for loc in page["data"]]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        after = f"&after={page['next_cursor']}"
    assert walked == [m["id"] for m in made]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?kind=shop", "kind"),
        ("?status=closed", "status"),
        ("?supplier_id=acme", "supplier_id"),
        ("?after=sup_1", "after"),
    ],
)
async def test_bad_filters_are_named(tenant: Any, query: str, field: str) -> None:
    response = await tenant.call("GET", f"/v1/locations{query}")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == field


# -- for routing and the ledger -----------------------------------------------------------------


async def test_locations_of_answers_for_many_ids_in_the_tenant_only(tenant: Any, new_tenant: Any) -> None:
    supplier, key = await tenant.supplier()
    mine = [await _create(tenant, key, **FULL), await _create(tenant, key)]
    other = await new_tenant("Other")
    _, other_key = await other.supplier()
    foreign = await _create(other, other_key)

    found = await locations_of(tenant.id, [m["id"] for m in mine] + [foreign["id"], "loc_" + "0" * 26] * 600)
    assert set(found) == {m["id"] for m in mine}
    first = found[mine[0]["id"]]
    assert first["supplier_id"] == supplier["id"] and first["status"] == "active" and first["kind"] == "store"
    assert first["modes"] == ["delivery", "pickup"] and first["opening_hours"]["mon"] == [
        ["08:00", "12:00"],
        ["13:00", "20:00"],
    ]
    assert (first["lat"], first["lng"], first["timezone"]) == (30.2741, 120.1635, "Asia/Shanghai")
    assert found[mine[1]["id"]]["address"] is None
    assert await locations_of(tenant.id, []) == {}


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_opening_hours_in_the_locations_time_zone() -> None:
    hours = OpeningHours(
        mon=[["08:00", "12:00"], ["13:00", "20:00"]],
        fri=[["18:00", "02:00"]],  # past midnight into Saturday
        sun=[["00:00", "00:00"]],  # the whole day
    )
    zone = "Asia/Shanghai"
    # 2026-11-23 is a Monday
    assert is_open(hours, zone, _at("2026-11-23T08:00:00+08:00"))
    assert not is_open(hours, zone, _at("2026-11-23T12:30:00+08:00"))
    assert not is_open(hours, zone, _at("2026-11-23T20:00:00+08:00"))
    assert is_open(hours, zone, _at("2026-11-23T01:00:00+00:00"))  # 09:00 in Shanghai
    assert not is_open(hours, zone, _at("2026-11-24T10:00:00+08:00"))  # Tuesday: closed
    assert is_open(hours, zone, _at("2026-11-27T23:59:00+08:00"))  # Friday night
    assert is_open(hours, zone, _at("2026-11-28T01:59:00+08:00"))  # Saturday, still Friday's hours
    assert not is_open(hours, zone, _at("2026-11-28T02:00:00+08:00"))
    assert is_open(hours, zone, _at("2026-11-29T00:00:00+08:00")) and is_open(
        hours, zone, _at("2026-11-29T23:59:00+08:00")
    )
    assert not is_open(hours, zone, _at("2026-11-30T00:30:00+08:00"))  # Monday, before 08:00: Sunday ended at midnight
    assert is_open(OpeningHours(), zone, _at("2026-11-24T03:00:00+08:00"))  # no hours at all: always open
