"""The routing index: `covering()` against a brute-force scan on random worlds (poles and the
antimeridian included), and the directory keeping each process's copy current."""

from __future__ import annotations

import asyncio
import math
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.routing import directory
from channels.routing.directory import index_for
from channels.routing.geo import EARTH_RADIUS_KM, HALF_CIRCUMFERENCE_KM, distance_km
from channels.routing.index import RADIUS_CLASSES_KM, LocationIndex
from channels.routing.sites import Site
from gateway.storage import db

# -- the pure index ---------------------------------------------------------------------------


def site(ident: str, lat: float, lng: float, radius: float, kind: str = "store") -> Site:
    return Site(
        id=ident,
        supplier_id="sup_1",
        kind=kind,
        lat=lat,
        lng=lng,
        service_radius_km=radius,
        modes=("delivery",),
        prep_minutes=10,
        opening_hours={},
        timezone="UTC",
    )


def brute(sites: list[Site], lat: float, lng: float) -> list[tuple[str, float]]:
    hits = []
    for s in sites:
        d = distance_km(lat, lng, s.lat, s.lng)
        if d <= s.service_radius_km:
            hits.append((s.id, d))
    return sorted(hits, key=lambda hit: (hit[1], hit[0]))


def answer(index: LocationIndex, lat: float, lng: float) -> list[tuple[str, float]]:
    return [(s.id, d) for s, d in index.covering(lat, lng)]


def wrap(lng: float) -> float:
    return (lng + 180.0) % 360.0 - 180.0


#: where worlds are built: ordinary places, both poles, both sides of the antimeridian
ANCHORS = [
    (30.27, 120.16),
    (0.0, 0.0),
    (89.99, 45.0),
    (-89.9, -120.0),
    (90.0, 0.0),
    (-89.5, 60.0),
    (10.0, 179.95),
    (-45.0, -179.99),
    (75.0, -180.0),
]
#: radii of every class and its edges, 0, and beyond the antipodes
RADII = st.one_of(
    st.floats(0.0, 12.0),
    st.floats(0.0, 120.0),
    st.floats(0.0, 3000.0),
    st.sampled_from([0.0, 2.0, 5.0, 10.0, 25.0, 2500.0, 2500.5, 8000.0, HALF_CIRCUMFERENCE_KM + 1.0]),
)
#: offsets from an anchor, degrees, from metres to continents
SPREAD = st.sampled_from([0.0005, 0.02, 0.3, 3.0, 40.0])


@st.composite
def points(draw: st.DrawFn) -> tuple[float, float]:
    lat0, lng0 = draw(st.sampled_from(ANCHORS))
    spread = draw(SPREAD)
    lat = lat0 + draw(st.floats(-spread, spread))
    if abs(lat0) > 89.0 and draw(st.booleans()):  # around a pole, any longitude: across it
        lng = draw(st.floats(-180.0, 180.0))
    else:
        lng = lng0 + draw(st.floats(-spread, spread))
    return max(-90.0, min(90.0, lat)), wrap(lng)


@st.composite
def worlds(draw: st.DrawFn) -> list[Site]:
    positions = draw(st.lists(points(), min_size=0, max_size=40))
    if positions and draw(st.booleans()):
        positions += [positions[0]] * 3  # sites on the same spot: ties broken by id
    return [site(f"loc_{n:03d}", lat, lng, draw(RADII)) for n, (lat, lng) in enumerate(positions)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds(), st.lists(points(), min_size=1, max_size=8))
def test_covering_is_the_brute_force_scan(world: list[Site], queries: list[tuple[float, float]]) -> None:
    index = LocationIndex()
    for s in world:
        index.upsert(s)
    assert len(index) == len(world)
    for lat, lng in queries + [(s.lat, s.lng) for s in world[:5]]:
        assert answer(index, lat, lng) == brute(world, lat, lng)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    worlds(),
    st.lists(points(), min_size=1, max_size=4),
    st.lists(st.one_of(st.floats(0.0, 40.0), st.floats(0.0, 25_000.0)), max_size=6),
)
def test_rings_tile_the_covering_sites(
    world: list[Site], queries: list[tuple[float, float]], cuts: list[float]
) -> None:
    """Rings of distance, one after the other, return what one covering call returns (the
    brute-force scan), in the same order: routing reads them nearest first and widens."""
    index = LocationIndex()
    for s in world:
        index.upsert(s)
    bounds = [-1.0, *sorted(set(cuts)), math.inf]
    for lat, lng in queries + [(s.lat, s.lng) for s in world[:3]]:
        rings = [
            [(s.id, d) for s, d in index.covering(lat, lng, beyond_km=beyond, within_km=within)]
            for beyond, within in zip(bounds, bounds[1:], strict=False)
        ]
        for (beyond, within), ring in zip(zip(bounds, bounds[1:], strict=False), rings, strict=True):
            assert all(beyond < d <= within for _, d in ring)
        assert [hit for ring in rings for hit in ring] == brute(world, lat, lng)


def test_the_index_counts_its_profiles() -> None:
    """(kind, prep minutes) of the sites here, kept through upserts and removes: what bounds
    the promise of a site routing has not read."""
    index = LocationIndex()
    index.upsert(site("loc_1", 30.0, 120.0, 5.0))
    index.upsert(site("loc_2", 30.0, 120.0, 5.0, kind="central_warehouse"))
    index.upsert(site("loc_3", 30.1, 120.0, 5.0))
    assert sorted(index.profiles()) == [("central_warehouse", 10), ("store", 10)]
    index.remove("loc_2")
    index.upsert(site("loc_1", 31.0, 121.0, 50.0, kind="kitchen"))
    assert sorted(index.profiles()) == [("kitchen", 10), ("store", 10)]
    index.remove("loc_3")
    assert sorted(index.profiles()) == [("kitchen", 10)]


def towards(lat: float, lng: float, bearing: float, km: float) -> tuple[float, float]:
    """The point `km` from (lat, lng) along `bearing` degrees, on the same sphere."""
    phi, lam, theta, delta = math.radians(lat), math.radians(lng), math.radians(bearing), km / EARTH_RADIUS_KM
    phi2 = math.asin(
        max(-1.0, min(1.0, math.sin(phi) * math.cos(delta) + math.cos(phi) * math.sin(delta) * math.cos(theta)))
    )
    lam2 = lam + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(phi), math.cos(delta) - math.sin(phi) * math.sin(phi2)
    )
    return math.degrees(phi2), wrap(math.degrees(lam2))


@settings(max_examples=200, deadline=None)
@given(
    points(),
    st.lists(
        st.tuples(
            st.one_of(st.sampled_from([0.0, 90.0, 180.0, 270.0]), st.floats(0.0, 360.0)),
            st.one_of(st.sampled_from([2.0, 5.0, 10.0, 25.0, 1000.0, 2500.0]), st.floats(0.0, 3000.0)),
        ),
        min_size=1,
        max_size=12,
    ),
)
def test_sites_exactly_on_their_radius_are_covered(
    query: tuple[float, float], placements: list[tuple[float, float]]
) -> None:
    """Each site as far from the destination as its radius reaches, in every direction
    (across a pole or the antimeridian too): the index must look exactly far enough."""
    lat, lng = query
    world = []
    for n, (bearing, km) in enumerate(placements):
        slat, slng = towards(lat, lng, bearing, km)
        world.append(site(f"loc_{n:03d}", slat, slng, distance_km(lat, lng, slat, slng)))
    index = LocationIndex()
    for s in world:
        index.upsert(s)
    assert answer(index, lat, lng) == brute(world, lat, lng)
    assert len(index.covering(lat, lng)) == len(world)


def test_the_edge_of_every_class_from_every_latitude() -> None:
    """A site exactly its class's largest radius away, due north, south, east, west and
    between, from a thousand latitudes pole to pole: the rare case where it lies just across
    a cell boundary from where the query looks, which random worlds seldom hit."""
    bearings = [0.0, 45.0, 85.0, 90.0, 95.0, 135.0, 180.0, 270.0]
    for n in range(1000):
        lat = -90.0 + 180.0 * (n + 0.5) / 1000
        lng = wrap(n * 7.31)
        for radius in RADIUS_CLASSES_KM:
            index = LocationIndex()
            world = []
            for m, bearing in enumerate(bearings):
                slat, slng = towards(lat, lng, bearing, radius)
                world.append(site(f"loc_{m}", slat, slng, radius))
                index.upsert(world[-1])
            assert answer(index, lat, lng) == brute(world, lat, lng), (lat, lng, radius)


UPSERT = st.tuples(st.just("upsert"), st.integers(0, 15), points(), RADII)
REMOVE = st.tuples(st.just("remove"), st.integers(0, 15))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(UPSERT, REMOVE), max_size=60), st.lists(points(), min_size=1, max_size=6))
def test_upserts_move_and_removes_forget(operations: list[tuple[Any, ...]], queries: list[tuple[float, float]]) -> None:
    index = LocationIndex()
    model: dict[str, Site] = {}
    for operation in operations:
        ident = f"loc_{operation[1]:02d}"
        if operation[0] == "upsert":
            (lat, lng), radius = operation[2], operation[3]
            model[ident] = site(ident, lat, lng, radius)
            index.upsert(model[ident])
        else:
            assert index.remove(ident) == (ident in model)
            model.pop(ident, None)
    assert len(index) == len(model)
    assert sorted(s.id for s in index.sites()) == sorted(model)
    for ident in (f"loc_{n:02d}" for n in range(16)):
        assert (ident in index) == (ident in model)
        assert index.get(ident) is model.get(ident)
    for lat, lng in queries + [(s.lat, s.lng) for s in list(model.values())[:4]]:
        assert answer(index, lat, lng) == brute(list(model.values()), lat, lng)


def test_across_the_antimeridian_and_the_poles() -> None:
    index = LocationIndex()
    index.upsert(site("east", 10.0, 179.9, 30.0))
    index.upsert(site("pole", 90.0, 0.0, 12.0))  # 11.1 km from latitude 89.9
    index.upsert(site("beyond_pole", 89.9, -170.0, 50.0))  # ~22 km from (89.9, 10) over the pole
    index.upsert(site("far", 40.0, 100.0, 1500.0, kind="central_warehouse"))
    index.upsert(site("everywhere", -40.0, -60.0, 30000.0, kind="central_warehouse"))

    assert [s.id for s, _ in index.covering(10.0, -179.9)] == ["east", "everywhere"]
    assert [s.id for s, _ in index.covering(89.95, 123.0)] == ["pole", "beyond_pole", "everywhere"]
    assert [s.id for s, _ in index.covering(89.9, 10.0)] == ["pole", "beyond_pole", "everywhere"]
    assert [s.id for s, _ in index.covering(30.0, 110.0)] == ["far", "everywhere"]
    (_, d), *_ = index.covering(10.0, -179.9)
    assert d == pytest.approx(21.9, abs=0.1)


def test_moving_a_site_across_radius_classes_and_removing_it() -> None:
    index = LocationIndex()
    index.upsert(site("loc", 30.0, 120.0, 5.0))
    index.upsert(site("loc", 31.0, 121.0, 600.0))  # moved, and from the 5 km class to 1000 km
    assert len(index) == 1 and index.get("loc") == site("loc", 31.0, 121.0, 600.0)
    assert [s.id for s, _ in index.covering(35.0, 121.0)] == ["loc"]
    index.upsert(site("loc", 31.0, 121.0, 5000.0))  # beyond the classes: the flat list
    assert [s.id for s, _ in index.covering(-5.0, 121.0)] == ["loc"]
    assert index.remove("loc") and not index.remove("loc")
    assert "loc" not in index and index.covering(31.0, 121.0) == []


# -- the directory, on the real database ---------------------------------------------------------

HANGZHOU = (30.2741, 120.1635)
STORE: dict[str, Any] = {
    "name": "Wulin store",
    "kind": "store",
    "lat": HANGZHOU[0],
    "lng": HANGZHOU[1],
    "service_radius_km": 5,
    "modes": ["delivery", "pickup"],
    "prep_minutes": 15,
}


async def _create(tenant: Any, key: str, **fields: Any) -> dict[str, Any]:
    response = await tenant.call("POST", "/v1/locations", key=key, json={**STORE, **fields})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def _revisions(tenant_id: str, location_id: str) -> tuple[int, int]:
    tenant = await db().fetch("SELECT revision FROM routing_revisions WHERE tenant_id = ?", tenant_id)
    row = await db().fetch("SELECT revision FROM locations WHERE id = ?", location_id)
    return int(tenant[0]["revision"]), int(row[0]["revision"])


async def test_every_location_write_bumps_the_revision_and_stamps_the_row(tenant: Any) -> None:
    _, key = await tenant.supplier()
    first = await _create(tenant, key)
    assert await _revisions(tenant.id, first["id"]) == (1, 1)
    second = await _create(tenant, key)
    assert await _revisions(tenant.id, second["id"]) == (2, 2)
    path = f"/v1/locations/{first['id']}"
    assert (await tenant.call("PATCH", path, key=key, json={"version": 1, "prep_minutes": 5})).status_code == 200
    assert await _revisions(tenant.id, first["id"]) == (3, 3)
    assert (await tenant.call("POST", f"{path}/deactivate", key=key)).status_code == 200
    assert await _revisions(tenant.id, first["id"]) == (4, 4)
    stale = await tenant.call("PATCH", path, key=key, json={"version": 1, "prep_minutes": 6})
    assert stale.status_code == 409
    assert await _revisions(tenant.id, first["id"]) == (4, 4)  # a refused write moves nothing


async def test_the_index_follows_creates_updates_and_status(tenant: Any) -> None:
    _, key = await tenant.supplier()
    index = await index_for(tenant.id)
    assert len(index) == 0 and index.covering(*HANGZHOU) == []

    store = await _create(
        tenant,
        key,
        opening_hours={"mon": [["08:00", "20:00"]]},
        timezone="Asia/Shanghai",
        daily_capacity=300,
    )
    always = await _create(tenant, key, lat=30.28, lng=120.17, modes=["delivery"], kind="kitchen")
    index = await index_for(tenant.id)
    assert [s.id for s, _ in index.covering(*HANGZHOU)] == [store["id"], always["id"]]
    got = index.get(store["id"])
    assert got is not None
    assert (got.kind, got.lat, got.lng, got.service_radius_km) == ("store", HANGZHOU[0], HANGZHOU[1], 5.0)
    assert got.modes == ("delivery", "pickup") and got.prep_minutes == 15 and got.daily_capacity == 300
    assert got.opening_hours == {"mon": [["08:00", "20:00"]]} and got.timezone == "Asia/Shanghai"
    assert index.get(always["id"]).opening_hours == {}  # type: ignore[union-attr]  # no hours: always open

    moved = await tenant.call(
        "PATCH", f"/v1/locations/{store['id']}", key=key, json={"version": 1, "lat": 31.23, "lng": 121.47}
    )
    assert moved.status_code == 200
    index = await index_for(tenant.id)
    assert [s.id for s, _ in index.covering(*HANGZHOU)] == [always["id"]]
    assert [s.id for s, _ in index.covering(31.23, 121.47)] == [store["id"]]

    await tenant.call("POST", f"/v1/locations/{always['id']}/deactivate", key=key)
    index = await index_for(tenant.id)
    assert always["id"] not in index and index.covering(*HANGZHOU) == []
    await tenant.call("POST", f"/v1/locations/{always['id']}/activate", key=key)
    assert [s.id for s, _ in (await index_for(tenant.id)).covering(*HANGZHOU)] == [always["id"]]
    assert directory.cached(tenant.id)[1] == 5  # type: ignore[index]


async def test_a_fresh_process_loads_everything_in_pages(tenant: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _, key = await tenant.supplier()
    made = [await _create(tenant, key, lng=120.1635 + n / 1000) for n in range(7)]
    await tenant.call("POST", f"/v1/locations/{made[3]['id']}/deactivate", key=key)
    directory.forget(tenant.id)
    monkeypatch.setattr(directory, "PAGE", 2)
    index = await index_for(tenant.id)
    assert sorted(s.id for s in index.sites()) == sorted(m["id"] for n, m in enumerate(made) if n != 3)


async def test_only_changed_rows_are_reloaded(tenant: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _, key = await tenant.supplier()
    made = [await _create(tenant, key) for _ in range(5)]
    await index_for(tenant.id)
    decoded: list[str] = []
    decode = directory._Decoder.site

    def spy(self: Any, row: dict[str, Any]) -> Site:
        decoded.append(row["id"])
        return decode(self, row)

    monkeypatch.setattr(directory._Decoder, "site", spy)
    await tenant.call("PATCH", f"/v1/locations/{made[2]['id']}", key=key, json={"version": 1, "prep_minutes": 1})
    index = await index_for(tenant.id)
    assert decoded == [made[2]["id"]] and index.get(made[2]["id"]).prep_minutes == 1  # type: ignore[union-attr]
    await index_for(tenant.id)  # nothing new: nothing read but the revision
    assert decoded == [made[2]["id"]]


async def test_concurrent_callers_share_one_load(tenant: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _, key = await tenant.supplier()
    await _create(tenant, key)
    refreshes = 0
    refresh = directory._refresh

    async def counting(*args: Any) -> bool:
        nonlocal refreshes
        refreshes += 1
        await asyncio.sleep(0.01)  # let the other callers pile up behind the lock
        return await refresh(*args)

    monkeypatch.setattr(directory, "_refresh", counting)
    indexes = await asyncio.gather(*(index_for(tenant.id) for _ in range(5)))
    assert refreshes == 1 and all(index is indexes[0] for index in indexes) and len(indexes[0]) == 1


WRITER = """
import asyncio, sys
from gateway.settings import Settings
from gateway.storage import Database, make_engine, use
from gateway.tenancy.principal import Principal
from suppliers.locations import services
from suppliers.locations.schemas import LocationUpdate

async def main(url, tenant_id, location_id):
    database = Database(make_engine(Settings(database_url=url)))
    use(database)
    operator = Principal(tenant_id=tenant_id, type="operator", owner_id=None, key_id="key_test", key_kind="secret")
    await services.update(operator, location_id, LocationUpdate(version=1, lat=39.9, lng=116.4))
    await services.set_status(operator, location_id, None, "inactive")
    await services.set_status(operator, location_id, None, "active")
    await database.close()

asyncio.run(main(*sys.argv[1:]))
"""


async def test_a_change_made_by_another_process_is_picked_up(tenant: Any, database_url: str) -> None:
    _, key = await tenant.supplier()
    location = await _create(tenant, key)
    index = await index_for(tenant.id)
    assert [s.id for s, _ in index.covering(*HANGZHOU)] == [location["id"]]

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WRITER, database_url, tenant.id, location["id"], env=env
    )
    assert await process.wait() == 0
    assert directory.cached(tenant.id)[1] == 1  # type: ignore[index]  # this process learnt nothing by itself

    index = await index_for(tenant.id)
    assert index.covering(*HANGZHOU) == [] and [s.id for s, _ in index.covering(39.9, 116.4)] == [location["id"]]
    assert directory.cached(tenant.id)[1] == 4  # type: ignore[index]


async def test_tenants_do_not_share_an_index(tenant: Any, new_tenant: Any) -> None:
    other = await new_tenant("Other")
    _, key = await tenant.supplier()
    _, other_key = await other.supplier()
    mine = await _create(tenant, key)
    theirs = await _create(other, other_key)
    assert [s.id for s, _ in (await index_for(tenant.id)).covering(*HANGZHOU)] == [mine["id"]]
    assert [s.id for s, _ in (await index_for(other.id)).covering(*HANGZHOU)] == [theirs["id"]]


async def test_start_up_warms_every_tenant_with_locations(tenant: Any) -> None:
    """`directory.warm` (a `gateway.startup` hook the app runs when it starts) loads the index of
    every tenant that has locations, so no order waits for the first load."""
    _, key = await tenant.supplier()
    made = await _create(tenant, key)
    directory.forget()
    assert directory.cached(tenant.id) is None
    await directory.warm()
    entry = directory.cached(tenant.id)
    assert entry is not None and made["id"] in entry[0]


async def test_start_up_hooks_run_beside_the_app_and_stop_with_it() -> None:
    """Hooks run as tasks (the app does not wait for them), a failing one is logged and
    harms nothing, and those still running are cancelled when the app stops."""
    from gateway import startup

    ran: list[str] = []
    release = asyncio.Event()

    async def quick() -> None:
        ran.append("quick")

    async def failing() -> None:
        raise RuntimeError("cold cache")

    async def slow() -> None:
        try:
            await release.wait()
        except asyncio.CancelledError:
            ran.append("cancelled")
            raise

    hooks = [quick, failing, slow]
    before = list(startup._hooks)
    startup._hooks.clear()  # only these (not the index warming of every tenant in the test database)
    try:
        for hook in hooks:
            startup.on_startup(hook)
        startup.on_startup(quick)  # once per registration
        async with startup.running():
            await asyncio.sleep(0.01)
            assert ran == ["quick"]
        assert ran == ["quick", "cancelled"]
    finally:
        startup._hooks[:] = before


async def test_a_warm_process_is_frozen_out_of_full_collections() -> None:
    """What the process holds once warm is moved out of the collector's sight: a full collection
    walking it stalled every request in flight for 60-140 ms."""
    import gc

    from gateway import startup

    before = list(startup._hooks)
    startup._hooks.clear()
    try:
        async with startup.running():
            for _ in range(200):
                if gc.get_freeze_count():
                    break
                await asyncio.sleep(0.01)
        assert gc.get_freeze_count() > 0
    finally:
        startup._hooks[:] = before
