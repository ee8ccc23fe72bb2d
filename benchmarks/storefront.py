"""Storefront product listing for a point: `GET /v1/storefront/products?lat=&lng=` over HTTP.

    .venv/bin/python -m benchmarks.storefront [--city demo|big|both] [--sites 400000]
        [--db-file PATH] [--connections 16] [--seconds 15] [--warmup 3] [--limit 50]

What a partner page's widget asks once the shopper's location is known: the channel's listed
products that can reach the point, each with price, tier, ETA and in-stock. Served by a real
`gateway serve` (granian, 1 worker, SQLite), with a publishable key from its allowed origin.
Load: `--connections` keep-alive connections from forked Python clients (benchmarks.orders'
HTTP reader), one request in flight each, a new random point per request.

- `demo`: `gateway demo`'s Hangzhou (9 stores and warehouses of 3 suppliers, 15 listings);
  points uniformly within 6 km of the demo flat by West Lake.
- `big`: the 400,000-location tenant of `benchmarks/routing_index.py` (what
  `benchmarks/routing_decision.py` builds: 2,000 suppliers around 50 cities, 5 skus stocked
  with p=0.6), plus a channel listing the 5 skus and their catalogue products; points from
  `routing_index.destinations` (90 % in the cities, by size). `--db-file` keeps the database
  (the bulk load takes minutes) and reuses it. The first request of the worker loads the
  tenant's 400k-location index (seconds): the warm-up waits for it.

Prints requests/s, latency p50/p90/p99/max (client side), the statuses, products per answer,
and the CPU the server and everything else used meanwhile (the machine is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.auth_get import _client_cpu, _machine_cpu, source_fingerprint, versions, wait_for_quiet  # noqa: E402
from benchmarks.orders import _response  # noqa: E402

HOST = "127.0.0.1"
ORIGIN = "https://bench.partner.example"
HOME = (30.2600, 120.1600)
BIG_TENANT = "routing-bench"


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# -- the worlds ------------------------------------------------------------------------------


def demo_world(workdir: Path) -> tuple[str, str, list[tuple[float, float]]]:
    """`gateway demo` in a fresh SQLite file; points within 6 km of the demo flat."""
    url = f"sqlite:///{workdir / 'demo.db'}"
    env = {**os.environ, "GATEWAY_DATABASE_URL": url}
    subprocess.run(
        [str(Path(sys.executable).parent / "gateway"), "demo", "--origin", ORIGIN],
        cwd=workdir, env=env, check=True, capture_output=True,
    )  # fmt: skip
    key = json.loads((workdir / "gateway-demo.json").read_text())["channel"]["publishable_key"]
    rng = random.Random(5)
    points = []
    for _ in range(5000):
        distance, bearing = 6.0 * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
        points.append(
            (
                HOME[0] + distance * math.cos(bearing) / 111.195,
                HOME[1] + distance * math.sin(bearing) / (111.195 * math.cos(math.radians(HOME[0]))),
            )
        )
    return url, key, points


async def _big_tenant(url: str, sites: int, seed: int) -> str:
    """The routing benchmark's tenant (built once), plus a channel, catalogue and listings."""
    import contextlib
    import io

    from benchmarks.routing_decision import SKUS, build_tenant, reliabilities, stock_map
    from benchmarks.routing_index import build_world
    from gateway.clock import utcnow
    from gateway.ids import new_id
    from gateway.settings import Settings
    from gateway.storage import Database, db, make_engine, use
    from gateway.storage.migrate import migrate
    from gateway.tenancy import services as tenancy
    from gateway.tenancy.principal import Principal
    from gateway.tenancy.schemas import ApiKeyCreate, ChannelOwner

    database = Database(make_engine(Settings(database_url=url)))
    use(database)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            await migrate()
        rows = await db().fetch("SELECT id FROM tenants WHERE name = ?", BIG_TENANT)
        if rows:
            tenant = rows[0]["id"]
            log(f"reusing tenant {tenant}")
        else:
            log(f"building the {sites:,}-location tenant (bulk SQL; minutes)")
            world = build_world(sites, seed)
            tenant = await build_tenant(world, stock_map(world, seed), reliabilities(world, seed))
            await db().fetch("ANALYZE")
        channel = await db().fetch("SELECT id FROM channels WHERE tenant_id = ?", tenant)
        now = utcnow()
        if not channel:
            channel_id = new_id("chn")
            async with db().transaction():
                await db().fetch(
                    "INSERT INTO channels (id, tenant_id, name, kind, status, version, created_at, updated_at) "
                    "VALUES (?, ?, 'Bench partner', 'partner_app', 'active', 1, ?, ?)",
                    channel_id, tenant, now, now,
                )  # fmt: skip
                for sku in SKUS:
                    product_id = new_id("prod")
                    await db().fetch(
                        "INSERT INTO products (id, tenant_id, title, description, category, status, attributes, media, "
                        "supplier_id, version, created_at, updated_at) VALUES (?, ?, ?, '', NULL, 'active', '{}', '[]', "
                        "NULL, 1, ?, ?)",
                        product_id, tenant, f"Product {sku}", now, now,
                    )  # fmt: skip
                    await db().fetch(
                        "INSERT INTO variants (id, tenant_id, product_id, sku, title, options, barcode, weight_grams, "
                        "status, version, created_at, updated_at) VALUES (?, ?, ?, ?, 'Standard', '{}', NULL, NULL, "
                        "'active', 1, ?, ?)",
                        new_id("var"), tenant, product_id, sku, now, now,
                    )  # fmt: skip
                    await db().fetch(
                        "INSERT INTO listings (id, tenant_id, channel_id, sku, price_amount, currency, active, version, "
                        "created_at, updated_at) VALUES (?, ?, ?, ?, 200, 'CNY', ?, 1, ?, ?)",
                        new_id("lst"), tenant, channel_id, sku, True, now, now,
                    )  # fmt: skip
        else:
            channel_id = channel[0]["id"]
        operator = Principal(tenant_id=tenant, type="operator", owner_id=None, key_id="bench", key_kind="secret")
        created = await tenancy.create(
            operator,
            ApiKeyCreate(owner=ChannelOwner(id=channel_id), kind="publishable", allowed_origins=[ORIGIN]),
        )
        return created.key
    finally:
        await database.close()


def big_world(db_file: Path | None, workdir: Path, sites: int, seed: int) -> tuple[str, str, list[tuple[float, float]]]:
    from benchmarks.routing_index import destinations

    path = db_file.resolve() if db_file else workdir / "big.db"
    url = f"sqlite:///{path}"
    key = asyncio.run(_big_tenant(url, sites, seed))
    return url, key, destinations(5000, seed=13)


# -- load ----------------------------------------------------------------------------------------


async def _load(job: dict[str, Any]) -> dict[str, Any]:
    rng = random.Random(job["seed"])
    latencies = array("d")
    statuses: dict[int, int] = {}
    sizes: list[int] = []
    samples: list[str] = []
    errors = 0
    start = time.perf_counter()
    deadline = start + job["seconds"]

    async def connection() -> None:
        nonlocal errors
        writer = None
        while time.perf_counter() < deadline:
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(HOST, job["port"])
                lat, lng = rng.choice(job["points"])
                head = (
                    f"GET /v1/storefront/products?lat={lat:.6f}&lng={lng:.6f}&limit={job['limit']} HTTP/1.1\r\n"
                    f"Host: {HOST}:{job['port']}\r\nAuthorization: Bearer {job['key']}\r\nOrigin: {ORIGIN}\r\n\r\n"
                )
                t0 = time.perf_counter()
                writer.write(head.encode())
                status, body = await _response(reader)
                latencies.append(time.perf_counter() - t0)
                statuses[status] = statuses.get(status, 0) + 1
                if status == 200:
                    if len(sizes) < 2000:
                        sizes.append(body.count(b'"sku"'))
                elif len(samples) < 3:
                    samples.append(f"{status} {body[:300].decode(errors='replace')}")
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
        "statuses": statuses,
        "sizes": sizes,
        "samples": samples,
        "errors": errors,
        "elapsed": time.perf_counter() - start,
    }


def _load_process(job: dict[str, Any]) -> dict[str, Any]:
    return asyncio.run(_load(job))


def hit(
    port: int, key: str, points: list[tuple[float, float]], args: argparse.Namespace, seconds: float
) -> dict[str, Any]:
    processes = max(1, min(args.client_processes, args.connections))
    shares = [args.connections // processes + (1 if i < args.connections % processes else 0) for i in range(processes)]
    jobs = [
        {"port": port, "key": key, "points": points, "connections": n, "seconds": seconds, "limit": args.limit,
         "seed": random.getrandbits(64)}
        for n in shares
    ]  # fmt: skip
    with ProcessPoolExecutor(processes, mp_context=get_context("fork")) as pool:
        parts = list(pool.map(_load_process, jobs))
    latencies = array("d")
    statuses: dict[int, int] = {}
    sizes: list[int] = []
    for part in parts:
        latencies.frombytes(part["latencies"])
        sizes += part["sizes"]
        for status, n in part["statuses"].items():
            statuses[status] = statuses.get(status, 0) + n
    ordered = sorted(latencies)
    elapsed = max(part["elapsed"] for part in parts)

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")

    return {
        "rate": statuses.get(200, 0) / elapsed,
        "requests": len(ordered),
        "p50": pct(0.5),
        "p90": pct(0.9),
        "p99": pct(0.99),
        "max": ordered[-1] * 1000 if ordered else float("nan"),
        "statuses": statuses,
        "errors": sum(part["errors"] for part in parts),
        "products": statistics.fmean(sizes) if sizes else 0.0,
        "empty": sum(1 for s in sizes if s == 0) / len(sizes) if sizes else 0.0,
        "samples": [s for part in parts for s in part["samples"]][:3],
    }


async def _in_process(url: str, key: str, points: list[tuple[float, float]], count: int, limit: int) -> dict[str, Any]:
    """`services.products` called directly (no HTTP, no other request in flight): the work of
    one listing, wall and this thread's CPU time (which other processes cannot inflate)."""
    from channels.storefront import services
    from gateway.settings import Settings
    from gateway.storage import Database, make_engine, use
    from gateway.tenancy.credentials import principal_for

    database = Database(make_engine(Settings(database_url=url)))
    use(database)
    try:
        principal = await principal_for(key)
        assert principal is not None
        rng = random.Random(3)
        chosen = [rng.choice(points) for _ in range(count + 50)]
        walls, cpus = [], []
        for n, (lat, lng) in enumerate(chosen):
            c0, w0 = time.thread_time(), time.perf_counter()
            await services.products(
                principal, lat=lat, lng=lng, pickup_point_id=None, q=None, limit=limit, after=None, channel_id=None
            )
            if n >= 50:  # the first ones warm the caches (the index load among them)
                walls.append(time.perf_counter() - w0)
                cpus.append(time.thread_time() - c0)
    finally:
        await database.close()

    def pct(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {name: (pct(v, 0.5), pct(v, 0.99), max(v) * 1000) for name, v in (("wall", walls), ("cpu", cpus))}


def server_cpu(pid: int) -> float:
    total = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) == pid:
                total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def run_city(
    name: str, url: str, key: str, points: list[tuple[float, float]], args: argparse.Namespace, workdir: Path
) -> None:
    if args.in_process:
        wait_for_quiet(args.max_other_cpu)
        machine0, wall0 = _machine_cpu(), time.perf_counter()
        one = asyncio.run(_in_process(url, key, points, args.in_process, args.limit))
        other = max(0.0, (_machine_cpu() - machine0) / (time.perf_counter() - wall0) - 1.0)
        print(
            f"\n{name}, in process, {args.in_process} listings one at a time (other processes ~{other:.0%} CPU):\n"
            f"  wall        p50 {one['wall'][0]:.1f} ms  p99 {one['wall'][1]:.1f} ms  max {one['wall'][2]:.1f} ms\n"
            f"  thread CPU  p50 {one['cpu'][0]:.1f} ms  p99 {one['cpu'][1]:.1f} ms  max {one['cpu'][2]:.1f} ms"
        )
    port = free_port()
    env = {
        **os.environ,
        "GATEWAY_DATABASE_URL": url,
        "GATEWAY_RATE_LIMIT": "100000000",
        "GATEWAY_LOG_LEVEL": "WARNING",
    }
    logfile = (workdir / f"serve-{name}.log").open("wb")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gateway"), "serve", "--host", HOST, "--port", str(port)],
        env=env, stdout=logfile, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        import httpx

        started = time.monotonic()
        while True:  # healthy, then the first listing (the index load) answered
            try:
                lat, lng = points[0]
                response = httpx.get(
                    f"http://{HOST}:{port}/v1/storefront/products",
                    params={"lat": lat, "lng": lng},
                    headers={"Authorization": f"Bearer {key}", "Origin": ORIGIN},
                    timeout=120,
                )
                if response.status_code == 200:
                    break
                raise RuntimeError(f"{response.status_code} {response.text[:300]}")
            except httpx.TransportError:
                if time.monotonic() - started > 120:
                    raise
                time.sleep(0.2)
        log(f"{name}: first answer after {time.monotonic() - started:.1f} s (start + index load)")
        if args.warmup:
            hit(port, key, points, args, args.warmup)
        wait_for_quiet(args.max_other_cpu)
        cpu0, client0, machine0, wall0 = server_cpu(server.pid), _client_cpu(), _machine_cpu(), time.perf_counter()
        result = hit(port, key, points, args, args.seconds)
        wall = time.perf_counter() - wall0
        served = (server_cpu(server.pid) - cpu0) / wall
        client = (_client_cpu() - client0) / wall
        other = max(0.0, (_machine_cpu() - machine0) / wall - served - client)
        print(
            f"\n{name}: {result['rate']:.0f} listings/s over {result['requests']:,} requests, "
            f"{args.connections} connections, {wall:.1f} s\n"
            f"  latency p50 {result['p50']:.1f} ms  p90 {result['p90']:.1f} ms  p99 {result['p99']:.1f} ms  "
            f"max {result['max']:.1f} ms\n"
            f"  statuses {result['statuses']}  socket errors {result['errors']}\n"
            f"  products per answer (limit {args.limit}): mean {result['products']:.1f}, empty {result['empty']:.1%}\n"
            f"  CPU: server {served:.0%}, load generator {client:.0%}, everything else {other:.0%} (100 % = one core)"
        )
        for sample in result["samples"]:
            print(f"  sample: {sample}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(15)
        logfile.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--city", choices=("demo", "big", "both"), default="both")
    parser.add_argument("--sites", type=int, default=400_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db-file", type=Path, help="the big city's SQLite file: kept, and reused when it exists")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--client-processes", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--max-other-cpu", type=float, default=0.3)
    parser.add_argument(
        "--in-process", type=int, default=1000, metavar="N", help="first, N listings called in process (0: skip)"
    )
    args = parser.parse_args()
    print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; {os.cpu_count()} CPUs; {versions()}")
    print(f"app source: {source_fingerprint()}")
    workdir = Path(tempfile.mkdtemp(prefix="storefront-bench-"))
    try:
        if args.city in ("demo", "both"):
            run_city("demo city (Hangzhou)", *demo_world(workdir), args, workdir)
        if args.city in ("big", "both"):
            run_city(
                f"{args.sites:,}-location tenant",
                *big_world(args.db_file, workdir, args.sites, args.seed),
                args,
                workdir,
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
