"""A coverage map of one SKU over a city, in a tenant of 400,000 locations, on SQLite.

    .venv/bin/python benchmarks/coverage.py [--sites 400000] [--resolution 8] [--km 40]
        [--db-file PATH] [--seed 7]

The tenant is `benchmarks/routing_decision.py`'s (the world of `benchmarks/routing_index.py`:
400k locations clustered around ~50 Chinese cities, 2,000 suppliers, 5 SKUs each stocked at a
location with probability 0.6), written to SQLite with the same bulk SQL, plus the catalogue
rows for the SKUs. The map is of SKU-00 over a box of `--km` either side of Shanghai's centre
(the densest city) at H3 resolution 8 (~0.74 km² cells), at a fixed `now`.

Timed, as `channels.insight.coverage.coverage_map` does it: the first map of a process (it
loads the tenant's index from SQLite), then a warm one, and the warm one's steps: the stocked
sites (SQL), their facts (stock, cost, reliability, load: SQL), the stocked index, and the
decision at every cell (pure). `--db-file PATH` keeps the database and reuses it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.auth_get import source_fingerprint, versions, wait_for_quiet  # noqa: E402
from benchmarks.routing_decision import DEFAULT_AT, SKUS, TENANT_NAME, build_tenant, reliabilities, stock_map  # noqa: E402
from benchmarks.routing_index import CITIES, build_world  # noqa: E402


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def run(url: str, sites: int, seed: int, resolution: int, km: float, now: datetime, quiet: float) -> None:
    from channels.insight.coverage import coverage_map, picture
    from channels.routing import core, coverage, directory
    from channels.routing import services as routing
    from channels.routing.geo import KM_PER_DEGREE
    from gateway.clock import utcnow
    from gateway.ids import new_id
    from gateway.settings import Settings
    from gateway.storage import Database, db, make_engine, use
    from gateway.storage.migrate import migrate

    database = Database(make_engine(Settings(database_url=url)))
    use(database)
    with contextlib.redirect_stderr(io.StringIO()):
        await migrate()
    rows = await db().fetch("SELECT id FROM tenants WHERE name = ?", TENANT_NAME)
    if rows:
        tenant = rows[0]["id"]
        log(f"reusing tenant {tenant}")
    else:
        world = build_world(sites, seed)
        started = time.perf_counter()
        tenant = await build_tenant(world, stock_map(world, seed), reliabilities(world, seed))
        del world
        log(f"built the tenant in {time.perf_counter() - started:.1f} s")
    if not await db().fetch("SELECT id FROM variants WHERE tenant_id = ? AND sku = ?", tenant, SKUS[0]):
        stamp = utcnow()
        product = new_id("prod")
        await db().fetch(
            "INSERT INTO products (id, tenant_id, title, description, status, attributes, media, version, created_at, "
            "updated_at) VALUES (?, ?, 'Bench', '', 'active', '{}', '[]', 1, ?, ?)",
            product,
            tenant,
            stamp,
            stamp,
        )
        for sku in SKUS:
            await db().fetch(
                "INSERT INTO variants (id, tenant_id, product_id, sku, title, options, status, version, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, '{}', 'active', 1, ?, ?)",
                new_id("var"),
                tenant,
                product,
                sku,
                sku,
                stamp,
                stamp,
            )
        await db().fetch("ANALYZE")
    n = (await db().fetch("SELECT COUNT(*) AS n FROM locations WHERE tenant_id = ?", tenant))[0]["n"]
    _, lat, lng = CITIES[0]
    dlat = km / KM_PER_DEGREE
    from math import cos, radians

    dlng = km / (KM_PER_DEGREE * cos(radians(lat)))
    box = (lat - dlat, lng - dlng, lat + dlat, lng + dlng)
    print(
        f"tenant: {n:,} locations; map of {SKUS[0]} over {2 * km:.0f} x {2 * km:.0f} km around {CITIES[0][0]}, H3 resolution {resolution}"
    )

    wait_for_quiet(quiet)
    directory.forget()
    started = time.perf_counter()
    made, markers = await coverage_map(tenant, [SKUS[0]], 1, None, resolution, box, now)
    cold = time.perf_counter() - started
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        made, markers = await coverage_map(tenant, [SKUS[0]], 1, None, resolution, box, now)
        timings.append(time.perf_counter() - started)
    started = time.perf_counter()
    svg = picture(made, markers)
    drawn = time.perf_counter() - started
    print(f"cells evaluated: {made.cells_evaluated:,}; promised: {len(made.features):,} {made.counts}")
    print(f"first map of the process (index loaded from SQLite): {cold:.2f} s")
    print(f"warm map: best {min(timings):.2f} s, worst {max(timings):.2f} s of {len(timings)}")
    print(f"SVG: {len(svg) / 1e6:.1f} MB drawn in {drawn:.2f} s")

    # the warm map's steps, as coverage_map runs them
    index = await directory.index_for(tenant)
    t0 = time.perf_counter()
    stocked = coverage.touching(await routing.stocked_sites(tenant, [SKUS[0]]), box)
    t1 = time.perf_counter()
    prices = {SKUS[0]: routing.Offered(amount=10**15, currency="CNY")}
    facts = await routing.facts_for(tenant, stocked, prices, now)
    t2 = time.perf_counter()
    cells = coverage.cells_in(box, resolution)
    small = coverage.stocked_index(stocked, facts)
    t3 = time.perf_counter()
    policy = await routing.policy_of(tenant)
    promised = coverage.evaluate(
        cells, small, facts, [core.Line(SKUS[0], 1)], core.make_rules(policy.rules), now, split_quantities=True
    )
    t4 = time.perf_counter()
    covering = [len(small.covering(c.lat, c.lng)) for c in cells[:: max(1, len(cells) // 500)]]
    print(
        f"steps: stocked sites {t1 - t0:.2f} s ({len(stocked):,} reach the box); facts {t2 - t1:.2f} s; "
        f"cells + stocked index {t3 - t2:.2f} s; decisions {t4 - t3:.2f} s "
        f"({(t4 - t3) / max(1, len(cells)) * 1000:.2f} ms a cell, {sum(covering) / len(covering):.0f} stocked sites "
        f"reach a cell on average); {len(promised):,} promised; the full index holds {len(index):,}"
    )
    await database.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sites", type=int, default=400_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--resolution", type=int, default=8)
    parser.add_argument("--km", type=float, default=40.0, help="half the side of the mapped box")
    parser.add_argument("--at", default=DEFAULT_AT)
    parser.add_argument("--db-file", type=Path)
    parser.add_argument("--max-other-cpu", type=float, default=0.15)
    args = parser.parse_args()
    print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; {os.cpu_count()} CPUs; {versions()}")
    print(f"app source: {source_fingerprint()}; load average {os.getloadavg()}")
    path = args.db_file or Path(tempfile.mkdtemp(prefix="coverage-bench-")) / "coverage.db"
    now = datetime.fromisoformat(args.at).astimezone(UTC)
    asyncio.run(
        run(f"sqlite:///{path.resolve()}", args.sites, args.seed, args.resolution, args.km, now, args.max_other_cpu)
    )


if __name__ == "__main__":
    main()
