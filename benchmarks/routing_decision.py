"""One routing decision among a large tenant's locations: pure, then with its SQLite queries.

    .venv/bin/python benchmarks/routing_decision.py [--sites 400000] [--queries 10000]
        [--db-queries 2000] [--skip-db] [--skip-pure] [--db-file PATH] [--what-if] [--seed 7]

Part 1, pure (goal: p99 <= 5 ms at 400,000 sites). The world of `benchmarks/routing_index.py`
(400k clustered sites of one tenant) in a `LocationIndex`; each site stocks each of 5 skus
with probability 0.6 (1-20 units), held in an in-memory map shaped like the stock query's
answer. For each of `--queries` destinations (`routing_index.destinations`) and a random
order of 1-3 lines (qty 1-3), the decision is timed as the app makes it
(`channels.routing.services.candidates` without its I/O, then `core.plan`):

    index.covering(lat, lng) -> the sites that deliver -> those stocking an ordered sku ->
    promise() for each -> core.Candidate (stock, cost, reliability) -> core.plan(...)

with the default rules and split quantities on (the default policy). It prints p50/p99/max
of the whole (wall clock and thread CPU time: the machine may be shared), of each step, and
the number of covering sites and of candidates per decision. The index's memory on top of
the sites is taken with tracemalloc while the index is built.

Part 2, SQLite (skipped with `--skip-db`). The same world as a real tenant in a temporary
SQLite database, written with bulk SQL: 2,000 suppliers, the 400k locations, 5 offers per
supplier, the ~1.2M inventory levels of the stock map, the routing revision. Then:

- `directory.index_for()` loading every location from SQLite (time), and the loaded index's
  memory (sites + index, tracemalloc, in a second load): goal <= 200 MB;
- the stock query of `services.candidates()` (`services.stock_and_cost`) alone for each decision's
  delivering sites, p50/p99/max, with its SQLite query plan;
- `services.candidates()` + `core.plan()` end to end, p50/p99/max.

`--db-file PATH` keeps the database at PATH and reuses it when it exists (the bulk load
takes minutes). Every figure is measured in this one process; nothing is served over HTTP.

`--what-if` runs part 1 once more with `promise.next_open` memoised per (timetable,
timezone, time), patched into this process only: how much of the decision the opening-hours
arithmetic is. A measuring device, not a proposal of code.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import io
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `benchmarks` is no package: import its modules as a namespace

import msgspec  # noqa: E402

from benchmarks.auth_get import _machine_cpu, source_fingerprint, versions, wait_for_quiet  # noqa: E402
from benchmarks.routing_index import build_index, build_world, destinations  # noqa: E402
from channels.routing import core  # noqa: E402
from channels.routing.promise import StartMemo, promise  # noqa: E402
from channels.routing.sites import Site  # noqa: E402

SKUS = tuple(f"SKU-{n:02d}" for n in range(5))
STOCK_PROBABILITY = 0.6
PRICE, WHOLESALE, CURRENCY = 200, 100, "CNY"
TENANT_NAME = "routing-bench"
#: a Tuesday, 12:00 in Shanghai: most timetables are open (the decision is the same code either way)
DEFAULT_AT = "2026-11-24T04:00:00+00:00"

Stock = dict[str, dict[str, int]]


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# -- the world's stock and orders --------------------------------------------------------


def stock_map(world: Sequence[Site], seed: int) -> Stock:
    """location id -> sku -> available units, as the stock query would return them."""
    rng = random.Random(seed * 1_000_003 + 1)
    stock: Stock = {}
    for site in world:
        held = {sku: rng.randint(1, 20) for sku in SKUS if rng.random() < STOCK_PROBABILITY}
        if held:
            stock[site.id] = held
    return stock


def reliabilities(world: Sequence[Site], seed: int) -> dict[str, float]:
    rng = random.Random(seed * 7 + 3)
    return {supplier: round(rng.uniform(0.8, 1.0), 3) for supplier in sorted({s.supplier_id for s in world})}


def orders(count: int, seed: int) -> list[list[core.Line]]:
    """1-3 distinct skus of the 5, 1-3 units each."""
    rng = random.Random(seed * 31 + 5)
    return [[core.Line(sku, rng.randint(1, 3)) for sku in rng.sample(SKUS, rng.randint(1, 3))] for _ in range(count)]


# -- measuring ----------------------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


def summary(values: Sequence[float]) -> str:
    return (
        f"p50 {ms(pct(values, 0.50))}  p99 {ms(pct(values, 0.99))}  max {ms(max(values))}  "
        f"mean {ms(statistics.fmean(values))}"
    )


def counts(values: Sequence[int]) -> str:
    return f"mean {statistics.fmean(values):.1f}  p50 {pct(values, 0.5)}  p99 {pct(values, 0.99)}  max {max(values)}"


def print_rows(title: str, rows: list[tuple[str, str]]) -> None:
    print(f"\n{title}")
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


class Busy:
    """CPU the whole machine used while a measurement ran, beyond this process's own."""

    def __init__(self) -> None:
        self.machine = _machine_cpu()
        self.own = time.process_time()
        self.wall = time.perf_counter()

    def other(self) -> float:
        wall = time.perf_counter() - self.wall
        machine = _machine_cpu() - self.machine
        own = time.process_time() - self.own
        return max(0.0, machine - own) / wall


# -- part 1: the pure decision -----------------------------------------------------------


def candidates_of(
    stocked: Sequence[tuple[Site, float, dict[str, int]]], rates: dict[str, float], now: datetime, memo: StartMemo
) -> list[core.Candidate]:
    """The candidates of stocked delivering sites: each with its promise (none when it cannot
    promise one), its supplier's reliability and the benchmark's one wholesale price."""
    found = []
    for site, distance, mine in stocked:
        made = promise(site, distance, now, travels=True, taken_today=0, memo=memo)
        if made is None:
            continue
        found.append(
            core.Candidate(
                site=site,
                distance_km=distance,
                promise=made,
                reliability=rates.get(site.supplier_id, 0.9),
                stock=mine,
                cost=dict.fromkeys(mine, WHOLESALE),
            )
        )
    return found


def decide(
    index: Any,
    lat: float,
    lng: float,
    lines: Sequence[core.Line],
    stock: Stock,
    rates: dict[str, float],
    now: datetime,
    rules: list[tuple[str, core.Key]],
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[core.Plan, list[float], int, int]:
    """What `services.candidates` + `core.plan` do for a delivery, minus the database.

    Returns the plan, the time of each step (covering, filters + stock, promises +
    candidates, plan), the number of covering sites and of candidates."""
    t0 = clock()
    covering = index.covering(lat, lng)
    t1 = clock()
    wanted = {line.sku for line in lines}
    stocked: list[tuple[Site, float, dict[str, int]]] = []
    for site, distance in covering:
        if "delivery" not in site.modes:
            continue
        held = stock.get(site.id)
        if held is None:
            continue
        mine = {sku: units for sku, units in held.items() if sku in wanted}
        if mine:
            stocked.append((site, distance, mine))
    t2 = clock()
    memo: StartMemo = {}  # as channels.routing.services.candidates does: one per decision
    found = candidates_of(stocked, rates, now, memo)
    t3 = clock()
    decided = core.plan(lines, found, rules, split_quantities=True)
    t4 = clock()
    return decided, [t1 - t0, t2 - t1, t3 - t2, t4 - t3], len(covering), len(found)


def decide_bounded(
    index: Any,
    lat: float,
    lng: float,
    lines: Sequence[core.Line],
    stock: Stock,
    rates: dict[str, float],
    now: datetime,
    rules: list[tuple[str, core.Key]],
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[core.Plan, list[float], int, int, int]:
    """What `services.decide` does for a delivery with the default policy, minus the database:
    rings of the index nearest first, `BATCH` delivering sites at a time, their stock (the
    in-memory map standing for the one statement), promises and candidates, then `core.plan`
    with `Unseen` bounds on the rest, until the plan (and the record's alternatives) settle.

    Returns the plan, the time of each step (rings, stock, promises + candidates, plans), the
    sites read, the candidates and the stock reads (statements in the app)."""
    from channels.routing import services as routing

    wanted = {line.sku for line in lines}
    profiles = list(index.profiles())
    found: list[core.Candidate] = []
    memo: StartMemo = {}
    pending: list[tuple[Site, float]] = []
    beyond, within = -1.0, routing.FIRST_RING_KM
    read = reads = 0
    steps = [0.0, 0.0, 0.0, 0.0]
    while True:
        t0 = clock()
        while len(pending) < routing.BATCH and beyond < math.inf:
            ring = index.covering(lat, lng, beyond_km=beyond, within_km=within)
            pending += [(site, d) for site, d in ring if "delivery" in site.modes]
            beyond, within = within, (within * 2.0 if within < routing.LAST_RING_KM else math.inf)
        t1 = clock()
        batch, pending = routing.nearest_batch(pending, routing.BATCH)
        stocked: list[tuple[Site, float, dict[str, int]]] = []
        for site, distance in batch:
            held = stock.get(site.id)
            if held is None:
                continue
            mine = {sku: units for sku, units in held.items() if sku in wanted}
            if mine:
                stocked.append((site, distance, mine))
        if batch:
            read, reads = read + len(batch), reads + 1
        t2 = clock()
        found += candidates_of(stocked, rates, now, memo)
        t3 = clock()
        horizon = batch[-1][1] if pending else beyond
        unseen = None if horizon == math.inf else routing.unseen_bounds(profiles, [], 0, horizon, True)
        decided = core.plan(lines, found, rules, split_quantities=True, unseen=unseen)
        settled = decided.settled and (unseen is None or routing.alternatives_settled(found, decided, unseen))
        t4 = clock()
        for at, value in enumerate((t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            steps[at] += value
        if settled:
            return decided, steps, read, len(found), reads


def shape(decided: core.Plan) -> list[tuple[str, list[tuple[str, int]], str]]:
    return [(s.candidate.site.id, [(x.sku, x.qty) for x in s.lines], s.decided_by) for s in decided.shares]


def pure_part(
    world: list[Site],
    stock: Stock,
    rates: dict[str, float],
    points: list[tuple[float, float]],
    lines: list[list[core.Line]],
    now: datetime,
    quiet: float,
    label: str = "",
) -> None:
    gc.collect()
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    started = time.perf_counter()
    index = build_index(world)
    built = time.perf_counter() - started
    after, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rules = core.make_rules(core.DEFAULT_RULES)
    for (lat, lng), order in zip(points[:200], lines[:200], strict=True):  # warm-up (zoneinfo caches, …)
        decide(index, lat, lng, order, stock, rates, now, rules)

    for (lat, lng), order in zip(points[:200], lines[:200], strict=True):
        decide_bounded(index, lat, lng, order, stock, rates, now, rules)

    wait_for_quiet(quiet)
    busy = Busy()
    # the full scan (as before issue 13) and the bounded decision, one after the other for each
    # destination, so that both see the same machine
    walls: list[float] = []
    cpus: list[float] = []
    steps: list[list[float]] = [[], [], [], []]
    covering_counts: list[int] = []
    candidate_counts: list[int] = []
    shipments: list[int] = []
    b_walls: list[float] = []
    b_cpus: list[float] = []
    b_steps: list[list[float]] = [[], [], [], []]
    b_read: list[int] = []
    b_candidates: list[int] = []
    b_reads: list[int] = []
    unfilled = differ = 0
    for (lat, lng), order in zip(points, lines, strict=True):
        c0 = time.thread_time()
        w0 = time.perf_counter()
        decided, parts, covered, considered = decide(
            index, lat, lng, order, stock, rates, now, rules, clock=time.thread_time
        )
        walls.append(time.perf_counter() - w0)
        cpus.append(time.thread_time() - c0)
        for step, value in zip(steps, parts, strict=True):
            step.append(value)
        covering_counts.append(covered)
        candidate_counts.append(considered)
        shipments.append(len(decided.shares))
        unfilled += bool(decided.unfilled)
        c0 = time.thread_time()
        w0 = time.perf_counter()
        bounded, parts, read, considered, reads = decide_bounded(
            index, lat, lng, order, stock, rates, now, rules, clock=time.thread_time
        )
        b_walls.append(time.perf_counter() - w0)
        b_cpus.append(time.thread_time() - c0)
        for step, value in zip(b_steps, parts, strict=True):
            step.append(value)
        b_read.append(read)
        b_candidates.append(considered)
        b_reads.append(reads)
        differ += shape(bounded) != shape(decided) or bounded.unfilled != decided.unfilled
    other = busy.other()
    print_rows(
        f"Part 1{label}: the pure decision, {len(index):,} sites, {len(points):,} destinations "
        f"(other processes used {other:.0%} CPU meanwhile; {load_average()})",
        [
            ("index built (upserts)", f"{built:.2f} s"),
            (
                "index memory on top of the sites",
                f"{(after - before) / 2**20:.1f} MiB (peak {(peak - before) / 2**20:.1f})",
            ),
            ("FULL SCAN: decision, wall", summary(walls)),
            ("decision, thread CPU", summary(cpus)),
            ("  covering() (thread CPU)", summary(steps[0])),
            ("  mode + stock filter (thread CPU)", summary(steps[1])),
            ("  promise() + Candidate (thread CPU)", summary(steps[2])),
            ("  core.plan() (thread CPU)", summary(steps[3])),
            ("sites covering the destination", counts(covering_counts)),
            ("candidates (deliver + stock)", counts(candidate_counts)),
            ("shipments per order", counts(shipments)),
            ("orders left unfilled", f"{unfilled / len(points):.1%}"),
            ("BOUNDED (services.decide): decision, wall", summary(b_walls)),
            ("decision, thread CPU", summary(b_cpus)),
            ("  rings of covering() (thread CPU)", summary(b_steps[0])),
            ("  mode + stock filter (thread CPU)", summary(b_steps[1])),
            ("  promise() + Candidate (thread CPU)", summary(b_steps[2])),
            ("  core.plan() + settled? (thread CPU)", summary(b_steps[3])),
            ("delivering sites read", counts(b_read)),
            ("candidates considered", counts(b_candidates)),
            ("stock reads (statements in the app)", counts(b_reads)),
            ("decisions that differ from the full scan", f"{differ}"),
            ("goal p99 <= 5 ms (bounded, wall)", "met" if pct(b_walls, 0.99) <= 0.005 else "MISSED"),
            ("goal p99 <= 5 ms (bounded, thread CPU)", "met" if pct(b_cpus, 0.99) <= 0.005 else "MISSED"),
        ],
    )


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def profile_bounded(
    world: list[Site],
    stock: Stock,
    rates: dict[str, float],
    points: list[tuple[float, float]],
    lines: list[list[core.Line]],
    now: datetime,
    path: Path,
) -> None:
    """The bounded decision over every destination under cProfile: where what is left goes."""
    import cProfile
    import pstats

    index = build_index(world)
    rules = core.make_rules(core.DEFAULT_RULES)
    profiler = cProfile.Profile()
    profiler.enable()
    for (lat, lng), order in zip(points, lines, strict=True):
        decide_bounded(index, lat, lng, order, stock, rates, now, rules)
    profiler.disable()
    with path.open("w") as out:
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(25)
    log(f"profile of the bounded decision written to {path}")


def memoise_next_open() -> None:
    """What if: `promise.next_open` computed once per (timetable, timezone, time) instead of
    once per site. Timetables are shared objects (the directory interns them), so one decision
    needs a handful of these, not one per candidate. Patches this process only."""
    from channels.routing import promise as module

    original = module.next_open
    cache: dict[tuple[int, str, datetime], datetime | None] = {}

    def next_open(hours: dict[str, list[list[str]]], timezone: str, at: datetime) -> datetime | None:
        key = (id(hours), timezone, at)
        if key not in cache:
            if len(cache) > 4096:
                cache.clear()
            cache[key] = original(hours, timezone, at)
        return cache[key]

    module.next_open = next_open  # type: ignore[assignment]


# -- part 2: SQLite -------------------------------------------------------------------------


async def build_tenant(world: list[Site], stock: Stock, rates: dict[str, float]) -> str:
    """The world as one tenant, with bulk SQL (what the API would have written, minus the
    ledger's movements: only the levels are read by routing)."""
    from gateway.clock import utcnow
    from gateway.ids import new_id
    from gateway.storage import db
    from gateway.tenancy.services import create_tenant

    tenant = (await create_tenant(TENANT_NAME)).tenant.id
    now = utcnow()
    suppliers = sorted(rates)
    supplier_of = {site.id: site.supplier_id for site in world}
    started = time.perf_counter()
    async with db().transaction():
        await db().execute_many(
            "INSERT INTO suppliers (id, tenant_id, name, status, version, created_at, updated_at) "
            "VALUES (?, ?, ?, 'active', 1, ?, ?)",
            [(supplier, tenant, f"Supplier {n}", now, now) for n, supplier in enumerate(suppliers)],
        )
        await db().execute_many(
            "INSERT INTO offers (id, tenant_id, supplier_id, sku, wholesale_amount, currency, min_retail_amount, "
            "active, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, 1, ?, ?)",
            [(new_id("off"), tenant, s, sku, WHOLESALE, CURRENCY, True, now, now) for s in suppliers for sku in SKUS],
        )
        await db().fetch("INSERT INTO routing_revisions (tenant_id, revision) VALUES (?, 1)", tenant)
    log(f"  suppliers and offers: {time.perf_counter() - started:.1f} s")
    encode = msgspec.json.encode
    for start in range(0, len(world), 50_000):
        async with db().transaction():
            await db().execute_many(
                "INSERT INTO locations (id, tenant_id, supplier_id, name, kind, lat, lng, address, service_radius_km, "
                "modes, prep_minutes, opening_hours, timezone, daily_capacity, status, version, revision, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, '{}', ?, ?, ?, ?, ?, ?, 'active', 1, 1, ?, ?)",
                [
                    (
                        s.id, tenant, s.supplier_id, f"{s.kind} {s.id[-6:]}", s.kind, s.lat, s.lng,
                        s.service_radius_km, encode(list(s.modes)).decode(), s.prep_minutes,
                        encode(s.opening_hours).decode(), s.timezone, s.daily_capacity, now, now,
                    )
                    for s in world[start : start + 50_000]
                ],
            )  # fmt: skip
    log(f"  locations: {time.perf_counter() - started:.1f} s")
    levels = [(location, sku, units) for location, held in stock.items() for sku, units in held.items()]
    for start in range(0, len(levels), 100_000):
        async with db().transaction():
            await db().execute_many(
                "INSERT INTO inventory_levels (id, tenant_id, supplier_id, location_id, sku, on_hand, reserved, "
                "committed, safety_stock, last_sequence, updated_at) VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0, NULL, ?)",
                [
                    (new_id("lvl"), tenant, supplier_of[location], location, sku, units, now)
                    for location, sku, units in levels[start : start + 100_000]
                ],
            )
    log(f"  {len(levels):,} inventory levels: {time.perf_counter() - started:.1f} s")
    return tenant


async def database_part(
    url: str,
    world: list[Site],
    stock: Stock,
    rates: dict[str, float],
    points: list[tuple[float, float]],
    lines: list[list[core.Line]],
    now: datetime,
    quiet: float,
) -> None:
    from channels.routing import directory
    from channels.routing import services as routing
    from gateway.settings import Settings
    from gateway.storage import Database, db, make_engine, use
    from gateway.storage.migrate import migrate

    database = Database(make_engine(Settings(database_url=url)))
    use(database)
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # Piccolo's progress report
            await migrate()
        rows = await db().fetch("SELECT id FROM tenants WHERE name = ?", TENANT_NAME)
        if rows:
            tenant = rows[0]["id"]
            log(f"reusing tenant {tenant} in {url}")
        else:
            log(f"building the tenant in {url} (bulk SQL)")
            started = time.perf_counter()
            tenant = await build_tenant(world, stock, rates)
            log(f"built in {time.perf_counter() - started:.1f} s")
            await db().fetch("ANALYZE")  # what a long-running database has; without it see the plan below
        n_locations = (await db().fetch("SELECT COUNT(*) AS n FROM locations WHERE tenant_id = ?", tenant))[0]["n"]
        n_levels = (await db().fetch("SELECT COUNT(*) AS n FROM inventory_levels WHERE tenant_id = ?", tenant))[0]["n"]
        del world  # the index below is the one loaded from the database
        gc.collect()

        # the first load of the tenant's index, as a fresh gateway process does it
        wait_for_quiet(quiet)
        directory.forget()
        busy = Busy()
        started = time.perf_counter()
        index = await directory.index_for(tenant)
        loaded = time.perf_counter() - started
        load_other = busy.other()
        del index
        directory.forget()
        gc.collect()
        tracemalloc.start()
        base, _ = tracemalloc.get_traced_memory()
        index = await directory.index_for(tenant)
        held, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

        prices_all = {sku: routing.Offered(amount=PRICE, currency=CURRENCY) for sku in SKUS}
        rules = core.make_rules(core.DEFAULT_RULES)
        sites_of: list[list[Site]] = []
        for lat, lng in points:
            sites_of.append([site for site, _ in index.covering(lat, lng) if "delivery" in site.modes])

        # the plan SQLite picks for the stock query (one decision's worth of locations)
        sample = next((sites for sites in sites_of if len(sites) > 50), sites_of[0])
        sql, *args = routing.stock_statement(tenant, [site.id for site in sample[:24]], SKUS[:2], [])
        bounded_plan = await db().fetch("EXPLAIN QUERY PLAN " + sql, *args)
        plan_rows = await db().fetch(
            "EXPLAIN QUERY PLAN SELECT l.location_id, l.sku, l.on_hand - l.reserved - l.committed - l.safety_stock AS "
            "available, o.wholesale_amount, o.min_retail_amount, o.currency FROM inventory_levels l "
            "JOIN offers o ON o.tenant_id = l.tenant_id AND o.supplier_id = l.supplier_id AND o.sku = l.sku "
            "JOIN suppliers s ON s.tenant_id = l.tenant_id AND s.id = l.supplier_id "
            f"WHERE l.tenant_id = ? AND l.sku IN ({', '.join('?' for _ in SKUS[:2])}) "
            f"AND l.location_id IN ({', '.join('?' for _ in sample[:500])}) "
            "AND l.on_hand - l.reserved - l.committed - l.safety_stock > 0 AND o.active = ? AND s.status = 'active'",
            tenant,
            *SKUS[:2],
            *(site.id for site in sample[:500]),
            True,
        )

        async def warm(count: int) -> None:
            for (lat, lng), order in zip(points[:count], lines[:count], strict=True):
                prices = {line.sku: prices_all[line.sku] for line in order}
                found = await routing.candidates(
                    tenant, prices, routing.Destination(lat=lat, lng=lng), "delivery", now=now
                )
                core.plan(order, found, rules, split_quantities=True)

        await warm(100)
        wait_for_quiet(quiet)
        busy = Busy()
        stock_times: list[float] = []
        rows_back: list[int] = []
        for sites, order in zip(sites_of, lines, strict=True):
            prices = {line.sku: prices_all[line.sku] for line in order}
            started = time.perf_counter()
            found_stock, _ = await routing.stock_and_cost(tenant, sites, prices)
            stock_times.append(time.perf_counter() - started)
            rows_back.append(sum(len(v) for v in found_stock.values()))
        stock_other = busy.other()

        wait_for_quiet(quiet)
        busy = Busy()
        cand_times: list[float] = []
        total_times: list[float] = []
        cpu_times: list[float] = []
        considered: list[int] = []
        unfilled = 0
        for (lat, lng), order in zip(points, lines, strict=True):
            prices = {line.sku: prices_all[line.sku] for line in order}
            c0 = time.thread_time()
            t0 = time.perf_counter()
            found = await routing.candidates(tenant, prices, routing.Destination(lat=lat, lng=lng), "delivery", now=now)
            t1 = time.perf_counter()
            decided = core.plan(order, found, rules, split_quantities=True)
            t2 = time.perf_counter()
            cpu_times.append(time.thread_time() - c0)
            cand_times.append(t1 - t0)
            total_times.append(t2 - t0)
            considered.append(len(found))
            unfilled += bool(decided.unfilled)
        e2e_other = busy.other()

        policy = routing.Policy()
        wait_for_quiet(quiet)
        busy = Busy()
        d_times: list[float] = []
        d_cpu: list[float] = []
        d_read: list[int] = []
        d_considered: list[int] = []
        d_reads: list[int] = []
        for (lat, lng), order in zip(points, lines, strict=True):
            prices = {line.sku: prices_all[line.sku] for line in order}
            c0 = time.thread_time()
            t0 = time.perf_counter()
            decision = await routing.decide(
                tenant, order, prices, routing.Destination(lat=lat, lng=lng), "delivery", policy, now=now
            )
            d_times.append(time.perf_counter() - t0)
            d_cpu.append(time.thread_time() - c0)
            d_read.append(decision.read)
            d_considered.append(len(decision.candidates))
            d_reads.append(decision.reads)
        decide_other = busy.other()

        print_rows(
            f"Part 2: SQLite, one tenant of {n_locations:,} locations and {n_levels:,} inventory levels, "
            f"{len(points):,} destinations",
            [
                ("directory.index_for(), first load", f"{loaded:.2f} s (other processes used {load_other:.0%} CPU)"),
                (
                    "loaded index memory (sites + index)",
                    f"{(held - base) / 2**20:.1f} MiB (peak while loading {(peak - base) / 2**20:.1f} MiB)",
                ),
                ("goal memory <= 200 MB", "met" if held - base <= 200e6 else "MISSED"),
                ("stock query plan (full scan, IN lists)", " | ".join(str(row.get("detail")) for row in plan_rows)),
                ("stock statement plan (decide)", " | ".join(str(row.get("detail")) for row in bounded_plan)),
                ("stock query (services.stock_and_cost)", summary(stock_times) + f"  (other CPU {stock_other:.0%})"),
                ("  level rows it returns", counts(rows_back)),
                ("candidates()", summary(cand_times)),
                ("candidates() + plan(), wall", summary(total_times) + f"  (other CPU {e2e_other:.0%})"),
                ("candidates() + plan(), thread CPU", summary(cpu_times)),
                ("candidates per decision", counts(considered)),
                ("orders left unfilled", f"{unfilled / len(points):.1%}"),
                (
                    "BOUNDED: services.decide(), wall",
                    summary(d_times) + f"  (other CPU {decide_other:.0%}; {load_average()})",
                ),
                ("services.decide(), thread CPU", summary(d_cpu)),
                ("  delivering sites read", counts(d_read)),
                ("  candidates considered", counts(d_considered)),
                ("  stock statements", counts(d_reads)),
            ],
        )
    finally:
        await database.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sites", type=int, default=400_000)
    parser.add_argument("--queries", type=int, default=10_000, help="destinations for the pure decision")
    parser.add_argument("--db-queries", type=int, default=2_000, help="destinations for the SQLite part")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--at", default=DEFAULT_AT, help=f"the decision's `now` (default {DEFAULT_AT})")
    parser.add_argument("--skip-db", action="store_true", help="only the pure decision")
    parser.add_argument("--skip-pure", action="store_true", help="only the SQLite part")
    parser.add_argument(
        "--what-if",
        action="store_true",
        help="also run the pure decision with promise.next_open memoised per timetable (a measuring "
        "device, not the app's code; patched in this process only, after the other measurements)",
    )
    parser.add_argument("--profile", type=Path, help="also profile the bounded pure decision into this file")
    parser.add_argument("--db-file", type=Path, help="keep the SQLite database here; reuse it when it exists")
    parser.add_argument(
        "--max-other-cpu", type=float, default=0.15, help="wait (up to 60 s) for the machine to be this quiet first"
    )
    args = parser.parse_args()
    now = datetime.fromisoformat(args.at).astimezone(UTC)

    print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; {os.cpu_count()} CPUs; {versions()}")
    print(f"app source: {source_fingerprint()}")
    print(f"decision time `now`: {now.isoformat()}; skus {len(SKUS)}, stocked with p={STOCK_PROBABILITY}")
    started = time.perf_counter()
    world = build_world(args.sites, args.seed)
    log(f"world of {len(world):,} sites in {time.perf_counter() - started:.1f} s")
    stock = stock_map(world, args.seed)
    rates = reliabilities(world, args.seed)
    order_lines = orders(max(args.queries, args.db_queries), args.seed)

    if not args.skip_pure:
        points = destinations(args.queries)
        pure_part(world, stock, rates, points, order_lines[: args.queries], now, args.max_other_cpu)
        gc.collect()
    if not args.skip_db:
        if args.db_file:
            url = f"sqlite:///{args.db_file.resolve()}"
        else:
            url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='routing-bench-')) / 'routing.db'}"
        points = destinations(args.db_queries, seed=13)
        asyncio.run(
            database_part(url, world, stock, rates, points, order_lines[: args.db_queries], now, args.max_other_cpu)
        )
        if not args.db_file:
            shutil.rmtree(Path(url[len("sqlite:///") :]).parent, ignore_errors=True)
    if args.profile:
        points = destinations(args.queries)
        profile_bounded(world, stock, rates, points, order_lines[: args.queries], now, args.profile)
    if args.what_if and not args.skip_pure:
        memoise_next_open()
        points = destinations(args.queries)
        pure_part(world, stock, rates, points, order_lines[: args.queries], now, args.max_other_cpu, " (what if)")


if __name__ == "__main__":
    main()
