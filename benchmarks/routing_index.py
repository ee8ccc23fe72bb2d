"""The routing index at a large tenant's size: build time, memory, `covering()` latency.

    .venv/bin/python benchmarks/routing_index.py [--sites 400000] [--queries 10000] [--seed 7] [--skip-load]

The world is one tenant's locations in China, clustered the way a retailer's are: stores and
kitchens (3-8 km) around ~50 cities, a city's share and spread growing with its size,
forward warehouses (20-40 km) around the same cities, a few hundred central warehouses
(300-1500 km) near them, and a uniform sprinkle over the country. Destinations follow the
cities too (90 %), the rest anywhere in the country.

Unless `--skip-load`, the same world is also written to a fresh SQLite database (plain
INSERTs, as the services would leave the rows) and `channels.routing.directory.index_for`
is timed: the first load of a process, then a refresh after one location changed.

`build_world()` and `destinations()` are importable for other benchmarks (the routing
decision): `benchmarks/` is no package, so run those as modules from the repository root
(`python -m benchmarks.x`, a namespace import) or put the root on `sys.path` first.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import gc
import io
import itertools
import math
import random
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable

import msgspec

from channels.routing.index import LocationIndex
from channels.routing.sites import Site

#: (name, lat, lng), roughly by size: the first are the largest
CITIES: tuple[tuple[str, float, float], ...] = (
    ("Shanghai", 31.23, 121.47),
    ("Beijing", 39.90, 116.41),
    ("Guangzhou", 23.13, 113.26),
    ("Shenzhen", 22.54, 114.06),
    ("Chengdu", 30.57, 104.07),
    ("Chongqing", 29.56, 106.55),
    ("Tianjin", 39.34, 117.36),
    ("Wuhan", 30.59, 114.31),
    ("Hangzhou", 30.27, 120.16),
    ("Xi'an", 34.34, 108.94),
    ("Nanjing", 32.06, 118.80),
    ("Suzhou", 31.30, 120.59),
    ("Zhengzhou", 34.75, 113.63),
    ("Changsha", 28.23, 112.94),
    ("Shenyang", 41.81, 123.43),
    ("Qingdao", 36.07, 120.38),
    ("Dongguan", 23.02, 113.75),
    ("Foshan", 23.02, 113.12),
    ("Jinan", 36.65, 117.12),
    ("Harbin", 45.80, 126.53),
    ("Hefei", 31.82, 117.23),
    ("Kunming", 25.04, 102.71),
    ("Dalian", 38.91, 121.61),
    ("Fuzhou", 26.07, 119.30),
    ("Xiamen", 24.48, 118.09),
    ("Ningbo", 29.87, 121.55),
    ("Wuxi", 31.49, 120.31),
    ("Shijiazhuang", 38.04, 114.51),
    ("Changchun", 43.82, 125.32),
    ("Nanning", 22.82, 108.37),
    ("Nanchang", 28.68, 115.86),
    ("Guiyang", 26.65, 106.63),
    ("Taiyuan", 37.87, 112.55),
    ("Urumqi", 43.83, 87.62),
    ("Lanzhou", 36.06, 103.83),
    ("Hohhot", 40.84, 111.75),
    ("Yinchuan", 38.49, 106.23),
    ("Xining", 36.62, 101.78),
    ("Lhasa", 29.65, 91.14),
    ("Haikou", 20.04, 110.34),
    ("Wenzhou", 28.00, 120.67),
    ("Quanzhou", 24.87, 118.68),
    ("Zhuhai", 22.27, 113.58),
    ("Changzhou", 31.81, 119.97),
    ("Xuzhou", 34.26, 117.18),
    ("Tangshan", 39.63, 118.18),
    ("Yantai", 37.46, 121.45),
    ("Luoyang", 34.62, 112.45),
    ("Nantong", 32.01, 120.86),
    ("Shaoxing", 30.00, 120.58),
)
#: the country's bounding box, for the uniform sprinkle and the stray destinations
SOUTH, NORTH, WEST, EAST = 21.0, 48.0, 80.0, 130.0
KM_PER_DEGREE = 111.195
#: a few timetables, shared by many sites (as the directory interns them)
TIMETABLES: tuple[dict[str, list[list[str]]], ...] = (
    {},
    {day: [["08:00", "22:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    {day: [["07:00", "23:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
)
BOTH = ("delivery", "pickup")
DELIVERY = ("delivery",)


def _weights() -> list[float]:
    """Zipf-like city sizes: the largest city about 10 % of the sites, the smallest 0.7 %."""
    return [1.0 / (rank + 4) for rank in range(len(CITIES))]


def _picker(rng: random.Random, weights: list[float]) -> Callable[[], int]:
    """A weighted choice of an index, cheaper than `rng.choices` per call."""
    cumulative = list(itertools.accumulate(weights))
    total = cumulative[-1]
    return lambda: bisect.bisect(cumulative, rng.random() * total)


def _spread_km(weight: float, heaviest: float) -> float:
    return 8.0 + 20.0 * (weight / heaviest) ** 0.5


def _near(rng: random.Random, lat: float, lng: float, sigma_km: float) -> tuple[float, float]:
    dlat = rng.gauss(0.0, sigma_km) / KM_PER_DEGREE
    dlng = rng.gauss(0.0, sigma_km) / (KM_PER_DEGREE * max(0.2, _cos_deg(lat)))
    return max(-90.0, min(90.0, lat + dlat)), (lng + dlng + 180.0) % 360.0 - 180.0


def _cos_deg(lat: float) -> float:
    return math.cos(math.radians(lat))


def _anywhere(rng: random.Random) -> tuple[float, float]:
    return rng.uniform(SOUTH, NORTH), rng.uniform(WEST, EAST)


def build_world(sites: int = 400_000, seed: int = 7, suppliers: int = 2_000) -> list[Site]:
    """`sites` locations of one tenant (see the module docstring), deterministic per seed.

    Ids, coordinates and radii are distinct objects per site, as loaded from a database;
    supplier ids, modes and timetables are shared, as the directory interns them.
    """
    rng = random.Random(seed)
    weights = _weights()
    heaviest = max(weights)
    city_of = _picker(rng, weights)
    kind_of = _picker(rng, [85.0, 10.0, 5.0])
    supplier_ids = [f"sup_{n:026d}" for n in range(suppliers)]
    central = min(300, sites // 1000)
    forward = sites * 3 // 100
    sprinkle = sites * 5 // 100
    stores = sites - central - forward - sprinkle
    out: list[Site] = []

    def add(kind: str, lat: float, lng: float, radius: float, modes: tuple[str, ...], prep: int) -> None:
        n = len(out)
        out.append(
            Site(
                id=f"loc_{n:026d}",
                supplier_id=supplier_ids[rng.randrange(suppliers)],
                kind=kind,
                lat=lat,
                lng=lng,
                service_radius_km=radius,
                modes=modes,
                prep_minutes=prep,
                opening_hours=TIMETABLES[n % len(TIMETABLES)],
                timezone="Asia/Urumqi" if lng < 90.0 else "Asia/Shanghai",
                daily_capacity=None if n % 3 else 500,
            )
        )

    for _ in range(stores):
        city = city_of()
        _, clat, clng = CITIES[city]
        lat, lng = _near(rng, clat, clng, _spread_km(weights[city], heaviest))
        kind = ("store", "kitchen", "pickup_point")[kind_of()]
        add(kind, lat, lng, round(rng.uniform(3.0, 8.0), 1), BOTH if kind != "kitchen" else DELIVERY, 15)
    for _ in range(forward):
        city = city_of()
        _, clat, clng = CITIES[city]
        lat, lng = _near(rng, clat, clng, 1.5 * _spread_km(weights[city], heaviest))
        add("forward_warehouse", lat, lng, round(rng.uniform(20.0, 40.0), 1), DELIVERY, 30)
    for _ in range(central):
        _, clat, clng = CITIES[rng.randrange(len(CITIES))]
        lat, lng = _near(rng, clat, clng, 60.0)
        add("central_warehouse", lat, lng, float(rng.randrange(300, 1501, 50)), DELIVERY, 120)
    for n in range(sprinkle):
        lat, lng = _anywhere(rng)
        if n % 10:
            add("store", lat, lng, round(rng.uniform(3.0, 8.0), 1), BOTH, 15)
        else:
            add("forward_warehouse", lat, lng, round(rng.uniform(20.0, 40.0), 1), DELIVERY, 30)
    return out


def destinations(count: int = 10_000, seed: int = 11) -> list[tuple[float, float]]:
    """Consumer addresses: 90 % around the cities (weighted like the stores), 10 % anywhere."""
    rng = random.Random(seed)
    weights = _weights()
    heaviest = max(weights)
    city_of = _picker(rng, weights)
    points = []
    for _ in range(count):
        if rng.random() < 0.9:
            city = city_of()
            _, clat, clng = CITIES[city]
            points.append(_near(rng, clat, clng, _spread_km(weights[city], heaviest)))
        else:
            points.append(_anywhere(rng))
    return points


def build_index(world: list[Site]) -> LocationIndex:
    index = LocationIndex()
    for site in world:
        index.upsert(site)
    return index


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_COLUMNS = (
    "id, tenant_id, supplier_id, name, kind, lat, lng, address, service_radius_km, modes, prep_minutes, "
    "opening_hours, timezone, daily_capacity, status, version, revision, created_at, updated_at"
)


async def _load(world: list[Site], directory_path: str) -> list[tuple[str, str]]:
    """Write `world` to a new SQLite database, then time the directory loading it."""
    from channels.routing import directory
    from gateway.clock import utcnow
    from gateway.settings import Settings
    from gateway.storage import Database, db, make_engine, use
    from gateway.storage.migrate import migrate

    database = Database(make_engine(Settings(database_url=f"sqlite:///{directory_path}/routing.db")))
    use(database)
    with contextlib.redirect_stderr(io.StringIO()):  # Piccolo's progress report
        await migrate()
    tenant_id = "ten_benchmark"
    now = utcnow()
    encode = msgspec.json.encode
    rows = [
        (
            site.id,
            tenant_id,
            site.supplier_id,
            f"{site.kind} {n}",
            site.kind,
            site.lat,
            site.lng,
            "{}",
            site.service_radius_km,
            encode(list(site.modes)).decode(),
            site.prep_minutes,
            encode({day: site.opening_hours.get(day, []) for day in DAYS}).decode(),  # as the services store it
            site.timezone,
            site.daily_capacity,
            "active",
            1,
            n + 1,
            now,
            now,
        )
        for n, site in enumerate(world)
    ]
    marks = ", ".join("?" for _ in rows[0])
    started = time.perf_counter()
    await database.execute_many(f"INSERT INTO locations ({_COLUMNS}) VALUES ({marks})", rows)
    await db().fetch("INSERT INTO routing_revisions (tenant_id, revision) VALUES (?, ?)", tenant_id, len(world))
    written = time.perf_counter() - started
    del rows

    started = time.perf_counter()
    index = await directory.index_for(tenant_id)
    first = time.perf_counter() - started
    started = time.perf_counter()
    await directory.index_for(tenant_id)
    unchanged = time.perf_counter() - started
    async with db().transaction():
        revision = await directory.bump_revision(tenant_id)
        await db().fetch(
            "UPDATE locations SET service_radius_km = 9.5, revision = ? WHERE id = ?", revision, world[0].id
        )
    started = time.perf_counter()
    await directory.index_for(tenant_id)
    changed = time.perf_counter() - started
    assert len(index) == len(world) and index.get(world[0].id).service_radius_km == 9.5  # type: ignore[union-attr]
    await database.close()
    return [
        ("SQLite: rows written (executemany)", f"{written:.2f} s"),
        ("SQLite: index_for, first load", f"{first:.2f} s ({first / len(world) * 1e6:.2f} µs/row)"),
        ("SQLite: index_for, nothing new", _ms(unchanged)),
        ("SQLite: index_for, one row changed", _ms(changed)),
    ]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sites", type=int, default=400_000)
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-load", action="store_true", help="skip the SQLite load through the directory")
    args = parser.parse_args()

    # timings without tracemalloc (it slows allocation several times over), memory with it
    started = time.perf_counter()
    world = build_world(args.sites, args.seed)
    made = time.perf_counter() - started
    started = time.perf_counter()
    index = build_index(world)
    built = time.perf_counter() - started
    del index, world
    gc.collect()
    tracemalloc.start()
    world = build_world(args.sites, args.seed)
    sites_bytes, _ = tracemalloc.get_traced_memory()
    index = build_index(world)
    total_bytes, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    points = destinations(args.queries)
    latencies = []  # wall clock
    cpu = []  # this process's CPU time: what the query costs, whatever else the machine runs
    covered = []
    for lat, lng in points:
        started, started_cpu = time.perf_counter(), time.process_time()
        found = index.covering(lat, lng)
        cpu.append(time.process_time() - started_cpu)
        latencies.append(time.perf_counter() - started)
        covered.append(len(found))
    latencies.sort()
    cpu.sort()

    def pct(values: list[float], q: float) -> float:
        return values[min(len(values) - 1, int(q * len(values)))]

    def spread(values: list[float]) -> str:
        return " / ".join(f"{pct(values, q) * 1000:.3f}" for q in (0.5, 0.99, 1.0)) + " ms"

    rows = [
        ("sites", f"{len(index):,}"),
        ("world generated in", f"{made:.2f} s"),
        ("index built in (upserts)", f"{built:.2f} s ({built / max(1, len(world)) * 1e6:.2f} µs/site)"),
        ("memory (tracemalloc): the sites", f"{sites_bytes / 2**20:.1f} MiB"),
        ("memory: the index on top", f"{(total_bytes - sites_bytes) / 2**20:.1f} MiB"),
        ("memory: total (peak)", f"{total_bytes / 2**20:.1f} MiB ({peak_bytes / 2**20:.1f} MiB)"),
        ("queries", f"{len(points):,}"),
        ("covering p50 / p99 / max, wall", spread(latencies)),
        ("covering p50 / p99 / max, CPU", spread(cpu)),
        ("covering mean, wall", _ms(statistics.fmean(latencies))),
        ("sites covering, mean", f"{statistics.fmean(covered):.1f}"),
        ("sites covering, p99/max", f"{sorted(covered)[int(0.99 * len(covered))]} / {max(covered)}"),
        ("destinations covered by none", f"{sum(1 for n in covered if n == 0) / len(covered):.1%}"),
    ]
    if not args.skip_load:
        del index
        with tempfile.TemporaryDirectory() as scratch:
            rows += asyncio.run(_load(world, scratch))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
