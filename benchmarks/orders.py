"""`POST /v1/orders` (and `POST /v1/quotes`) end to end under 32 concurrent clients.

    .venv/bin/python benchmarks/orders.py [--seconds 20] [--connections 32] [--workers 1,2]
        [--endpoints orders,quotes] [--database-url postgresql://postgres@127.0.0.1:5432/NEWDB]

Goal (SQLite): >= 500 orders/s with p99 <= 100 ms.

Setup, in this process with plain SQL (as `tests/order_world.py` does): a fresh database (a
temporary SQLite file, or with `--database-url` a PostgreSQL database this script creates and
drops; it refuses one that exists), a tenant, a channel with a secret key, `--suppliers`
suppliers with `--locations` locations between them around Hangzhou (30.26 N, 120.16 E):
stores within ~8 km, radius 5-10 km (`--store-radius-km`), and a few forward warehouses (radius 30 km); always
open, no daily capacity. Every supplier offers `--skus` skus, the channel lists them. Then
`gateway serve --workers N` (granian) is started and every (location, sku) is stocked with
1,000,000 units through `POST /v1/inventory/set` with the suppliers' keys, so no order runs
out of stock.

Load: `--client-processes` processes (default 2) of a Python asyncio client (raw sockets,
HTTP/1.1 keep-alive, one request in flight per connection), `--connections` connections in
all. Every request is a new order: 1-3 distinct skus, 1-3 units each, a random destination
within ~6 km of the centre, a consumer (name, phone, address: encrypted at rest) and a
unique `Idempotency-Key`. After `--warmup` seconds it measures `--seconds` seconds and prints
orders/s, p50/p99/max latency, the responses by status (201 expected; 409 would be out of
stock) and the CPU used by the server, the clients, PostgreSQL and everything else.
At the end `gateway inventory check` must find the ledger consistent. `--analyze` (default:
on PostgreSQL only) runs ANALYZE once the world is stocked: PostgreSQL's autovacuum would do
so within a minute or two, the gateway never does it on SQLite.

The gateway runs with GATEWAY_RATE_LIMIT=100000000 and GATEWAY_LOG_LEVEL=WARNING, as in
`benchmarks/auth_get.py`; on PostgreSQL with freshly generated GATEWAY_DATA_KEYS and
GATEWAY_INDEX_KEY. `--profile FILE` then calls the app in this process over ASGI (no server)
with the same orders, 32 in flight, and writes a cProfile of it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import math
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `benchmarks` is no package: import its modules as a namespace

from benchmarks.auth_get import (  # noqa: E402
    HOST,
    LOG_LEVEL,
    RATE_LIMIT,
    PostgresDatabase,
    Servers,
    _client_cpu,
    _machine_cpu,
    free_port,
    gateway_command,
    http,
    process_cpu,
    source_fingerprint,
    versions,
    wait_for_quiet,
    wait_ready,
)

CENTRE = (30.26, 120.16)  # Hangzhou
KM_PER_DEGREE = 111.195
CURRENCY, PRICE, WHOLESALE = "CNY", 2_000, 1_000
ON_HAND = 1_000_000


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def offset(rng: random.Random, sigma_km: float, limit_km: float) -> tuple[float, float]:
    """A point around the centre, normally spread, at most `limit_km` away."""
    while True:
        north, east = rng.gauss(0.0, sigma_km), rng.gauss(0.0, sigma_km)
        if math.hypot(north, east) <= limit_km:
            break
    lat, lng = CENTRE
    return lat + north / KM_PER_DEGREE, lng + east / (KM_PER_DEGREE * math.cos(math.radians(lat)))


# -- the world --------------------------------------------------------------------------------


async def build(
    url: str, suppliers: int, locations: int, skus: int, seed: int, radius: tuple[float, float]
) -> dict[str, Any]:
    """Tenant, channel + key, suppliers + keys, locations, offers, listings (plain SQL)."""
    import msgspec

    from gateway.clock import utcnow
    from gateway.ids import new_id
    from gateway.settings import Settings
    from gateway.storage import Database, db, make_engine, use
    from gateway.storage.migrate import migrate
    from gateway.tenancy.services import _insert_key, create_tenant

    rng = random.Random(seed)
    database = Database(make_engine(Settings(database_url=url)))
    use(database)
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # Piccolo's progress report
            await migrate()
        tenant = (await create_tenant("orders-bench")).tenant.id
        now = utcnow()
        channel = new_id("chn")
        await db().fetch(
            "INSERT INTO channels (id, tenant_id, name, kind, status, version, created_at, updated_at) "
            "VALUES (?, ?, 'Bench channel', 'partner_app', 'active', 1, ?, ?)",
            channel,
            tenant,
            now,
            now,
        )
        _, channel_key = await _insert_key(tenant, "channel", channel, "secret", "bench")
        supplier_ids = [new_id("sup") for _ in range(suppliers)]
        supplier_keys = {}
        for n, supplier in enumerate(supplier_ids):
            await db().fetch(
                "INSERT INTO suppliers (id, tenant_id, name, status, version, created_at, updated_at) "
                "VALUES (?, ?, ?, 'active', 1, ?, ?)",
                supplier,
                tenant,
                f"Supplier {n}",
                now,
                now,
            )
            _, supplier_keys[supplier] = await _insert_key(tenant, "supplier", supplier, "secret", "bench")
        sku_names = [f"BENCH-{n:03d}" for n in range(skus)]
        location_rows = []
        placed: dict[str, list[str]] = {supplier: [] for supplier in supplier_ids}
        warehouses = max(1, locations // 50)
        for n in range(locations):
            supplier = supplier_ids[n % suppliers]
            location_id = new_id("loc")
            placed[supplier].append(location_id)
            if n < warehouses:
                kind, reach, modes, lat_lng = "forward_warehouse", 30.0, ["delivery"], offset(rng, 10.0, 20.0)
            else:
                kind, reach = "store", round(rng.uniform(*radius), 1)
                modes, lat_lng = ["delivery", "pickup"], offset(rng, 4.0, 8.0)
            location_rows.append(
                (
                    location_id, tenant, supplier, f"{kind} {n}", kind, *lat_lng, reach,
                    msgspec.json.encode(modes).decode(), 10, "Asia/Shanghai", now, now,
                )
            )  # fmt: skip
        async with db().transaction():
            await db().fetch("INSERT INTO routing_revisions (tenant_id, revision) VALUES (?, 1)", tenant)
            await db().execute_many(
                "INSERT INTO locations (id, tenant_id, supplier_id, name, kind, lat, lng, address, service_radius_km, "
                "modes, prep_minutes, opening_hours, timezone, daily_capacity, status, version, revision, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, '{}', ?, ?, ?, '{}', ?, NULL, 'active', 1, 1, ?, ?)",
                location_rows,
            )
            await db().execute_many(
                "INSERT INTO offers (id, tenant_id, supplier_id, sku, wholesale_amount, currency, min_retail_amount, "
                "active, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, 1, ?, ?)",
                [
                    (new_id("off"), tenant, supplier, sku, WHOLESALE, CURRENCY, True, now, now)
                    for supplier in supplier_ids
                    for sku in sku_names
                ],
            )
            await db().execute_many(
                "INSERT INTO listings (id, tenant_id, channel_id, sku, price_amount, currency, active, version, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
                [(new_id("lst"), tenant, channel, sku, PRICE, CURRENCY, True, now, now) for sku in sku_names],
            )
        return {
            "tenant": tenant,
            "channel": channel,
            "channel_key": channel_key,
            "supplier_keys": supplier_keys,
            "locations": placed,
            "skus": sku_names,
        }
    finally:
        await database.close()


def stock(port: int, world: dict[str, Any]) -> None:
    """Every (location, sku) gets ON_HAND units through the ledger's API."""
    for supplier, key in world["supplier_keys"].items():
        items = [
            {"location_id": location, "sku": sku, "on_hand": ON_HAND, "sequence": 1}
            for location in world["locations"][supplier]
            for sku in world["skus"]
        ]
        for start in range(0, len(items), 1000):
            status, body = http("POST", port, "/v1/inventory/set", key, {"items": items[start : start + 1000]})
            if status != 200:
                raise RuntimeError(f"POST /v1/inventory/set: {status} {body}")


# -- load -------------------------------------------------------------------------------------


def order_body(rng: random.Random, skus: list[str], quote: bool) -> bytes:
    lat, lng = offset(rng, 3.0, 6.0)
    body: dict[str, Any] = {
        "lines": [{"sku": sku, "qty": rng.randint(1, 3)} for sku in rng.sample(skus, rng.randint(1, 3))],
        "destination": {"lat": round(lat, 6), "lng": round(lng, 6)},
        "mode": "delivery",
    }
    if not quote:
        body["customer"] = {"name": "Li Wei", "phone": "+86 138 0013 8000", "address": "1 Nanshan Road, Hangzhou"}
        body["reference"] = f"bench-{rng.getrandbits(48):012x}"
    return json.dumps(body, separators=(",", ":")).encode()


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    length = re.search(rb"\r\ncontent-length:\s*(\d+)", lower)
    body = b""
    if length is not None:
        body = await reader.readexactly(int(length.group(1)))
    elif b"\r\ntransfer-encoding: chunked" in lower:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            parts.append((await reader.readexactly(size + 2))[:-2])
            if size == 0:
                break
        body = b"".join(parts)
    return status, body


async def _load(job: dict[str, Any]) -> dict[str, Any]:
    rng = random.Random(job["seed"])
    latencies = array("d")
    finished = array("d")  # seconds after the start, of each 201
    statuses: dict[int, int] = {}
    samples: list[str] = []
    errors = 0
    start = time.perf_counter()
    deadline = start + job["seconds"]
    prefix = f"bench-{os.getpid()}-{rng.getrandbits(32):08x}"
    counter = [0]
    quote = job["path"] == "/v1/quotes"

    async def connection() -> None:
        nonlocal errors
        writer = None
        while time.perf_counter() < deadline:
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(HOST, job["port"])
                counter[0] += 1
                body = order_body(rng, job["skus"], quote)
                head = (
                    f"POST {job['path']} HTTP/1.1\r\nHost: {HOST}:{job['port']}\r\n"
                    f"Authorization: Bearer {job['key']}\r\nContent-Type: application/json\r\n"
                    f"Idempotency-Key: {prefix}-{counter[0]}\r\nContent-Length: {len(body)}\r\n\r\n"
                )
                t0 = time.perf_counter()
                writer.write(head.encode() + body)
                status, answer = await _response(reader)
                t1 = time.perf_counter()
                latencies.append(t1 - t0)
                if status == 201:
                    finished.append(t1 - start)
                statuses[status] = statuses.get(status, 0) + 1
                if status != 201 and len(samples) < 3:
                    samples.append(f"{status} {answer[:300].decode(errors='replace')}")
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                errors += 1
                if writer is not None:
                    writer.close()
                writer = None
                await asyncio.sleep(0.01)
        if writer is not None:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(job["connections"])))
    return {
        "latencies": latencies.tobytes(),
        "finished": finished.tobytes(),
        "statuses": statuses,
        "samples": samples,
        "errors": errors,
        "elapsed": time.perf_counter() - start,
    }


def _load_process(job: dict[str, Any]) -> dict[str, Any]:
    return asyncio.run(_load(job))


def hit(
    port: int, path: str, key: str, skus: list[str], connections: int, seconds: float, processes: int
) -> dict[str, Any]:
    processes = max(1, min(processes, connections))
    shares = [connections // processes + (1 if i < connections % processes else 0) for i in range(processes)]
    jobs = [
        {"port": port, "path": path, "key": key, "skus": skus, "connections": n, "seconds": seconds,
         "seed": random.getrandbits(64)}
        for n in shares
    ]  # fmt: skip
    with ProcessPoolExecutor(processes, mp_context=get_context("fork")) as pool:
        parts = list(pool.map(_load_process, jobs))
    latencies = array("d")
    finished = array("d")
    statuses: dict[int, int] = {}
    for part in parts:
        latencies.frombytes(part["latencies"])
        finished.frombytes(part["finished"])
        for status, n in part["statuses"].items():
            statuses[status] = statuses.get(status, 0) + n
    ordered = sorted(latencies)
    elapsed = max(part["elapsed"] for part in parts)

    def pct(q: float) -> float | None:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else None

    ok = statuses.get(201, 0)
    quarter = seconds / 4
    by_quarter = [sum(1 for t in finished if q * quarter <= t < (q + 1) * quarter) / quarter for q in range(4)]
    return {
        "quarters": by_quarter,
        "requests": len(ordered),
        "ok": ok,
        "rate": ok / elapsed,
        "seconds": elapsed,
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": ordered[-1] * 1000 if ordered else None,
        "mean_ms": statistics.fmean(ordered) * 1000 if ordered else None,
        "statuses": statuses,
        "errors": sum(part["errors"] for part in parts),
        "samples": [s for part in parts for s in part["samples"]][:3],
    }


def measure(
    server: Any, port: int, path: str, world: dict[str, Any], args: argparse.Namespace, pg: PostgresDatabase | None
) -> dict[str, Any]:
    key, skus = world["channel_key"], world["skus"]
    if args.warmup > 0:
        hit(port, path, key, skus, args.connections, args.warmup, args.client_processes)
    wait_for_quiet(args.max_other_cpu, timeout=args.quiet_timeout)
    backends = pg.backend_pids() if pg is not None else set()
    cpu_backends = {pid: process_cpu(pid) for pid in backends}
    cpu_server, cpu_client, cpu_machine = server.cpu_seconds(), _client_cpu(), _machine_cpu()
    wall = time.perf_counter()
    result = hit(port, path, key, skus, args.connections, args.seconds, args.client_processes)
    wall = time.perf_counter() - wall
    result["server_cpu"] = (server.cpu_seconds() - cpu_server) / wall
    result["client_cpu"] = (_client_cpu() - cpu_client) / wall
    db_cpu = 0.0
    if pg is not None:
        db_cpu = sum(process_cpu(pid) - cpu_backends.get(pid, 0.0) for pid in backends | pg.backend_pids()) / wall
        result["db_cpu"] = db_cpu
    machine = (_machine_cpu() - cpu_machine) / wall
    result["other_cpu"] = max(0.0, machine - result["server_cpu"] - result["client_cpu"] - db_cpu)
    return result


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}ms"


def print_results(rows: list[tuple[str, int, str, dict[str, Any]]], goal: bool) -> None:
    print(
        f"\n{'database':<11} {'workers':>7} {'endpoint':<15} {'ok/s':>7} {'p50':>8} {'p90':>8} {'p99':>8} {'max':>8}"
        f" {'ok':>7} {'other':>22} {'errors':>6} {'server':>7} {'client':>7} {'db':>5} {'else':>5}"
    )
    for database, workers, path, r in rows:
        others = ", ".join(f"{s}: {n}" for s, n in sorted(r["statuses"].items()) if s != 201) or "-"
        db_cpu = f"{r['db_cpu']:.0%}" if "db_cpu" in r else "-"
        print(
            f"{database:<11} {workers:>7} {path:<15} {r['rate']:>7.0f} {fmt(r['p50_ms']):>8} {fmt(r['p90_ms']):>8}"
            f" {fmt(r['p99_ms']):>8} {fmt(r['max_ms']):>8} {r['ok']:>7} {others:>22} {r['errors']:>6}"
            f" {r['server_cpu']:>7.0%} {r['client_cpu']:>7.0%} {db_cpu:>5} {r['other_cpu']:>5.0%}"
        )
        print(f"    ok/s in each quarter of the run: {', '.join(f'{q:.0f}' for q in r['quarters'])}")
        for sample in r["samples"]:
            print(f"    e.g. {sample}")
        if goal and path == "/v1/orders" and database == "SQLite":
            met = r["rate"] >= 500 and (r["p99_ms"] or 1e9) <= 100 and r["errors"] == 0 and r["ok"] == r["requests"]
            print(f"    goal >= 500 orders/s, p99 <= 100 ms, no errors: {'met' if met else 'MISSED'}")


async def run_analyze(url: str) -> None:
    """Planner statistics, as a database that has run for a while has them (PostgreSQL's
    autovacuum analyzes by itself; SQLite only when told)."""
    from gateway.settings import Settings
    from gateway.storage import Database, make_engine

    database = Database(make_engine(Settings(database_url=url)))
    try:
        await database.fetch("ANALYZE")
    finally:
        await database.close()


async def routing_stats(url: str) -> str:
    """How many candidates the placed orders' routing considered (their routing records)."""
    import msgspec

    from gateway.settings import Settings
    from gateway.storage import Database, make_engine

    database = Database(make_engine(Settings(database_url=url)))
    try:
        rows = await database.fetch("SELECT order_id, routing FROM fulfilment_orders ORDER BY id DESC LIMIT 2000")
        orders = (await database.fetch("SELECT COUNT(*) AS n FROM orders"))[0]["n"]
    finally:
        await database.close()
    considered: dict[str, int] = {}
    shipments: dict[str, int] = {}
    for row in rows:
        routing = row["routing"]
        routing = msgspec.json.decode(routing) if isinstance(routing, str | bytes) else routing
        considered[row["order_id"]] = routing["candidates_considered"]
        shipments[row["order_id"]] = shipments.get(row["order_id"], 0) + 1
    if not considered:
        return "no fulfilment orders found"
    values = sorted(considered.values())
    return (
        f"{orders:,} orders placed in all; over the last {len(values)}: candidates considered per order "
        f"mean {statistics.fmean(values):.0f}, min {values[0]}, max {values[-1]}; "
        f"shipments per order mean {statistics.fmean(shipments.values()):.2f}"
    )


# -- the run ----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seconds", type=float, default=20.0, help="measured duration per run (default 20)")
    p.add_argument("--warmup", type=float, default=3.0, help="warm-up load before each run (default 3 s)")
    p.add_argument("--connections", type=int, default=32, help="concurrent clients (default 32)")
    p.add_argument("--client-processes", type=int, default=2, help="load-generator processes (default 2)")
    p.add_argument("--workers", default="1,2", help="granian worker counts to try, comma-separated (default 1,2)")
    p.add_argument("--endpoints", default="orders,quotes", help="orders and/or quotes (default both)")
    p.add_argument("--database-url", help="postgresql://user@127.0.0.1:5432/NEWDB (created, then dropped)")
    p.add_argument("--suppliers", type=int, default=8)
    p.add_argument("--locations", type=int, default=200)
    p.add_argument("--skus", type=int, default=20)
    p.add_argument("--store-radius-km", default="5-10", help="stores' service radius, min-max (default 5-10)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--max-other-cpu", type=float, default=0.15, help="wait for the machine to be this quiet first")
    p.add_argument("--quiet-timeout", type=float, default=60.0, help="... for at most this many seconds")
    p.add_argument(
        "--analyze",
        choices=["auto", "yes", "no"],
        default="auto",
        help="run ANALYZE once the world is stocked; auto (default): on PostgreSQL, whose autovacuum\n"
        "would soon, not on SQLite, which the gateway never analyzes",
    )
    p.add_argument("--profile", type=Path, help="after measuring: cProfile the app in process into this file")
    p.add_argument("--profile-requests", type=int, default=1000, help="orders for --profile (default 1000)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (server logs, SQLite file)")
    return p.parse_args()


def serve_env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("GATEWAY_REDIS_URL", None)
    env.update(
        GATEWAY_DATABASE_URL=database_url,
        GATEWAY_RATE_LIMIT=RATE_LIMIT,
        GATEWAY_LOG_LEVEL=LOG_LEVEL,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )
    if database_url.startswith("postgres"):
        from gateway.crypto import new_index_key, new_key_line

        env.setdefault("GATEWAY_DATA_KEYS", new_key_line())
        env.setdefault("GATEWAY_INDEX_KEY", new_index_key())
    return env


def main() -> int:
    args = parse_args()

    def on_term(*_: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    workdir = Path(tempfile.mkdtemp(prefix="orders-bench-"))
    servers = Servers(workdir)
    pg: PostgresDatabase | None = None
    source = source_fingerprint()
    workers = [int(n) for n in args.workers.split(",")]
    paths = [{"orders": "/v1/orders", "quotes": "/v1/quotes"}[name] for name in args.endpoints.split(",")]
    try:
        if args.database_url:
            pg = PostgresDatabase(args.database_url)
            pg.create()
            database_url, label = pg.url, "PostgreSQL"
            log(f"created PostgreSQL database {pg.name}")
        else:
            database_url, label = f"sqlite:///{workdir / 'orders-bench.db'}", "SQLite"
        env = serve_env(database_url)
        os.environ.update({k: env[k] for k in ("GATEWAY_DATA_KEYS", "GATEWAY_INDEX_KEY") if k in env})
        low, _, high = args.store_radius_km.partition("-")
        radius = (float(low), float(high or low))
        world = asyncio.run(build(database_url, args.suppliers, args.locations, args.skus, args.seed, radius))
        log(f"tenant {world['tenant']}: {args.suppliers} suppliers, {args.locations} locations, {args.skus} skus")
        print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; {os.cpu_count()} CPUs; {versions()}")
        print(f"app source: {source}")
        print(
            f"database: {label}; {args.suppliers} suppliers, {args.locations} locations around Hangzhou, "
            f"{args.skus} skus x {ON_HAND:,} units each; {args.connections} clients in {args.client_processes} "
            f"process(es), {args.warmup:g} s warm-up, {args.seconds:g} s measured"
        )
        analyze = args.analyze == "yes" or (args.analyze == "auto" and pg is not None)
        print(f"ANALYZE after stocking: {'yes' if analyze else 'no'}")
        rows = []
        stocked = False
        for count in workers:
            port = free_port()
            command = [*gateway_command(), "serve", "--host", HOST, "--port", str(port), "--workers", str(count)]
            server = servers.start(f"gateway-{count}", command, env)
            wait_ready(server, port, "/healthz")
            if not stocked:
                stock(port, world)
                stocked = True
                if analyze:
                    asyncio.run(run_analyze(database_url))
            probe = order_body(random.Random(0), world["skus"], quote=False)
            status, body = http("POST", port, "/v1/orders", world["channel_key"], json.loads(probe))
            if status != 201:
                raise RuntimeError(f"a probe order failed: {status} {body}")
            for path in paths:
                log(f"{label}, {count} worker(s), {path}: {args.warmup:g} s warm-up, {args.seconds:g} s")
                rows.append((label, count, path, measure(server, port, path, world, args, pg)))
            servers.stop_all()
        print_results(rows, goal=True)
        print(f"\n{asyncio.run(routing_stats(database_url))}")

        check = subprocess.run(
            [*gateway_command(), "inventory", "check"], env=env, cwd=ROOT, capture_output=True, text=True
        )
        print(f"\ngateway inventory check after the runs: {check.stdout.strip() or check.stderr.strip()[-300:]}")
        if args.profile:
            profile(args, env, world)
        return 0
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        servers.stop_all()
        if pg is not None:
            try:
                pg.drop()
                log(f"dropped PostgreSQL database {pg.name}")
            except Exception as error:
                log(f"could not drop database {pg.name}: {error}")
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def profile(args: argparse.Namespace, env: dict[str, str], world: dict[str, Any]) -> None:
    """The app in this process, called directly over ASGI (no server, no sockets), 32 orders
    in flight on one event loop: first without, then under cProfile."""
    os.environ.update({k: v for k, v in env.items() if k.startswith("GATEWAY_")})
    asyncio.run(_profile(args, env["GATEWAY_DATABASE_URL"], world))


_LIST = re.compile(r"\((?:\?, )*\?\)")


async def timed_statements(database: Any, run: Any) -> str:
    """Wall time of every statement `run` issues, summed by statement (its `?` lists folded):
    on SQLite a statement runs inline on the loop, so this is its cost; on PostgreSQL it
    includes the round trip."""
    engine = database.engine
    original = engine.run_sql
    spent: dict[str, list[float]] = {}

    async def run_sql(sql: str, args: Any = ()) -> Any:
        started = time.perf_counter()
        try:
            return await original(sql, args)
        finally:
            entry = spent.setdefault(_LIST.sub("(?…)", " ".join(sql.split())), [0, 0.0])
            entry[0] += 1
            entry[1] += time.perf_counter() - started

    engine.run_sql = run_sql
    try:
        wall = await run()
    finally:
        del engine.run_sql
    orders = max(1, sum(n for sql, (n, _) in spent.items() if sql.startswith("INSERT INTO orders ")))
    total = sum(t for _, t in spent.values())
    lines = [
        f"statements per order: {sum(n for n, _ in spent.values()) / orders:.1f}; their time per order "
        f"{total / orders * 1e3:.2f} ms of {wall / orders * 1e3:.2f} ms wall per order (32 in flight)",
        f"{'ms/order':>9} {'per order':>9} {'ms each':>8}  statement",
    ]
    for sql, (n, t) in sorted(spent.items(), key=lambda item: -item[1][1])[:15]:
        lines.append(f"{t / orders * 1e3:>9.3f} {n / orders:>9.2f} {t / n * 1e3:>8.3f}  {sql[:150]}")
    return "\n".join(lines)


def in_process_orders(
    app: Any, world: dict[str, Any], connections: int, failures: dict[int, int], key_prefix: str, report: bool = False
) -> Callable[[int], Awaitable[float]]:
    """`place(count)`: `count` keyed direct orders through the ASGI app (no server, no sockets),
    `connections` at a time; returns the seconds they took. Non-201 answers are counted in
    `failures` by status (with `report`, the first one is printed)."""
    from benchmarks.profile_auth_get import call, make_scope

    rng = random.Random(99)

    async def place(count: int) -> float:
        remaining = [count]

        async def worker() -> None:
            while remaining[0] > 0:
                remaining[0] -= 1
                body = order_body(rng, world["skus"], quote=False)
                headers = [
                    (b"authorization", f"Bearer {world['channel_key']}".encode()),
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"idempotency-key", f"{key_prefix}-{rng.getrandbits(64):016x}".encode()),
                ]
                status, answer = await call(app, make_scope("POST", "/v1/orders", headers), body)
                if status != 201:
                    failures[status] = failures.get(status, 0) + 1
                    if report and len(failures) == 1 and failures[status] == 1:
                        print(f"first failure: {status} {answer[:400]!r}", file=sys.stderr)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        return time.perf_counter() - started

    return place


async def _profile(args: argparse.Namespace, url: str, world: dict[str, Any]) -> None:
    import cProfile
    import pstats

    from gateway.app import create_app
    from gateway.settings import Settings
    from gateway.storage import Database, make_engine, use

    settings = Settings(database_url=url, rate_limit=100_000_000, log_level="WARNING")
    database = Database(make_engine(settings))
    use(database)  # what the app's startup does (direct ASGI calls run no lifespan)
    app = create_app(settings, database)
    failures: dict[int, int] = {}
    run = in_process_orders(app, world, args.connections, failures, "profile")

    count = args.profile_requests
    await run(200)
    from gateway.storage import sqlite

    grouped = dict(getattr(sqlite, "GROUP_STATS", {}))
    plain = await run(count)
    for name in grouped:  # SQLite's group commit: write transactions per COMMIT
        grouped[name] = sqlite.GROUP_STATS[name] - grouped[name]
    statements = await timed_statements(database, lambda: run(count))
    profiler = cProfile.Profile()
    profiler.enable()
    profiled = await run(count)
    profiler.disable()
    await database.close()
    out = io.StringIO()
    out.write(
        f"in process, direct ASGI: {count} orders, {args.connections} in flight: {count / plain:.0f} orders/s "
        f"({plain / count * 1e3:.2f} ms each) without the profiler, {count / profiled:.0f}/s under it; "
        f"non-201: {failures or 'none'}\n"
    )
    if grouped.get("commits"):
        out.write(
            f"group commit: {grouped['transactions']} write transactions in {grouped['commits']} COMMITs "
            f"({grouped['transactions'] / grouped['commits']:.1f} per COMMIT)\n"
        )
    out.write("\n")
    out.write(statements + "\n\n")
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(70)
    stats.sort_stats("tottime").print_stats(40)
    args.profile.write_text(out.getvalue())
    log(f"wrote {args.profile}")
    print(out.getvalue().split("\n\n")[0])
    print(statements)


if __name__ == "__main__":
    raise SystemExit(main())
