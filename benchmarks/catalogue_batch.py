"""`POST /v1/products/batch` over HTTP: how many products per second a batch upsert writes.

    .venv/bin/python benchmarks/catalogue_batch.py [--products 500] [--variants 2] [--rounds 5]
        [--database-url postgresql://postgres@127.0.0.1:5432/gateway_bench_catalogue]

A real `gateway serve` (1 worker, 127.0.0.1 only) on a temporary SQLite file (default), or with
`--database-url` on a PostgreSQL database that this script creates and drops (it refuses one
that already exists). A supplier key makes the calls. Each round sends, with fresh skus:

- create:    a batch of N new products (N × V variants) → every result `created`;
- unchanged: the same batch again → every result `unchanged` (read, compare, write nothing);
- update:    the same batch with every title and one variant's weight changed → `updated`.

The time is the client's wall time for the one HTTP request (body encoded beforehand), so it
includes parsing, validation, the transaction, the events and the response. Prints the median
and best of the rounds per phase, as seconds and products/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # every request of this script goes here, and nowhere else
GATEWAY = str(Path(sys.executable).parent / "gateway")
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via http_proxy
_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def log(message: str) -> None:
    print(f"# {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def http(port: int, method: str, path: str, key: str | None = None, body: bytes | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(f"http://{HOST}:{port}{path}", data=body, method=method)
    if key is not None:
        request.add_header("Authorization", f"Bearer {key}")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with _OPENER.open(request, timeout=120) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    return status, json.loads(raw) if raw else None


class PostgresDatabase:
    """A database the benchmark creates and drops; it never touches one that exists already."""

    def __init__(self, url: str) -> None:
        parsed = urlparse(url)
        name = parsed.path.lstrip("/") or f"gateway_bench_{secrets.token_hex(4)}"
        if not _DB_NAME.match(name) or name in ("postgres", "template0", "template1"):
            raise SystemExit(f"refusing database name {name!r}: give a new lowercase name, it is created and dropped")
        self.name = name
        self.url = urlunparse(parsed._replace(path=f"/{name}"))
        self.admin_url = urlunparse(parsed._replace(path="/postgres"))
        self.created = False

    async def _admin(self, sql: str, *args: Any) -> Any:
        import asyncpg

        conn = await asyncpg.connect(self.admin_url, timeout=10)
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    def create(self) -> None:
        if asyncio.run(self._admin("SELECT 1 FROM pg_database WHERE datname = $1", self.name)):
            raise SystemExit(f"database {self.name!r} already exists; the benchmark only uses one it creates")
        asyncio.run(self._admin(f'CREATE DATABASE "{self.name}"'))
        self.created = True

    def drop(self) -> None:
        if self.created:
            asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            self.created = False


def catalogue(prefix: str, products: int, variants: int, title: str = "Product") -> list[dict[str, Any]]:
    return [
        {
            "title": f"{title} {i}",
            "description": "A believable description of a product that a supplier syncs every night.",
            "category": ("groceries/fruit", "bakery/bread", "bike-parts/tyres")[i % 3],
            "attributes": {"brand": "Bench", "origin": "Hangzhou", "line": str(i % 17)},
            "media": [f"https://img.example.com/{prefix}/{i}.jpg"],
            "variants": [
                {
                    "sku": f"{prefix}-{i}-{v}",
                    "title": f"{title} {i} size {v}",
                    "options": {"size": str(v)},
                    "barcode": f"{690000000000 + i * 10 + v}",
                    "weight_grams": 100 * (v + 1),
                }
                for v in range(variants)
            ],
        }
        for i in range(products)
    ]


def timed_batch(port: int, key: str, items: list[dict[str, Any]], expect: str) -> float:
    body = json.dumps({"products": items}).encode()
    started = time.perf_counter()
    status, answer = http(port, "POST", "/v1/products/batch", key, body)
    elapsed = time.perf_counter() - started
    if status != 200:
        raise RuntimeError(f"batch: {status} {str(answer)[:500]}")
    statuses = {result["status"] for result in answer["results"]}
    if statuses != {expect} or len(answer["results"]) != len(items):
        raise RuntimeError(f"expected every result {expect!r}, got {statuses}")
    return elapsed


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=500, help="products per batch (default 500)")
    parser.add_argument("--variants", type=int, default=2, help="variants per product (default 2)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per phase; median and best shown (default 5)")
    parser.add_argument("--database-url", help="a PostgreSQL URL naming a NEW database (created, then dropped)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    workdir = Path(tempfile.mkdtemp(prefix="gateway-catalogue-bench-"))
    pg: PostgresDatabase | None = None
    server: subprocess.Popen[bytes] | None = None
    try:
        if args.database_url:
            if not args.database_url.startswith(("postgres://", "postgresql://")):
                raise SystemExit("--database-url: only postgresql:// URLs (the default is a temporary SQLite file)")
            pg = PostgresDatabase(args.database_url)
            pg.create()
            database_url, engine = pg.url, "postgresql"
            log(f"created PostgreSQL database {pg.name}")
        else:
            database_url, engine = f"sqlite:///{workdir / 'gateway.db'}", "sqlite"
        env = {**os.environ, "GATEWAY_DATABASE_URL": database_url, "GATEWAY_RATE_LIMIT": "100000000"}
        env["GATEWAY_LOG_LEVEL"] = "WARNING"
        env.pop("GATEWAY_REDIS_URL", None)

        created = subprocess.run(
            [GATEWAY, "tenant", "create", "catalogue-bench", "--json"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if created.returncode != 0:
            raise RuntimeError(f"tenant create failed:\n{created.stderr}")
        operator_key = json.loads(created.stdout)["operator_key"]

        port = free_port()
        with open(workdir / "gateway.log", "wb") as out:
            server = subprocess.Popen(
                [GATEWAY, "serve", "--host", HOST, "--port", str(port), "--workers", "1"],
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"gateway serve exited:\n{(workdir / 'gateway.log').read_text()[-3000:]}")
            try:
                if http(port, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gateway serve did not become healthy in 60 s")
            time.sleep(0.1)

        status, supplier = http(port, "POST", "/v1/suppliers", operator_key, json.dumps({"name": "Bench"}).encode())
        assert status == 201, supplier
        status, key = http(
            port,
            "POST",
            "/v1/api-keys",
            operator_key,
            json.dumps({"owner": {"type": "supplier", "id": supplier["id"]}, "kind": "secret"}).encode(),
        )
        assert status == 201, key
        supplier_key = key["key"]

        # warm-up: connections, statement caches, code paths
        warm = catalogue("WARM", 50, args.variants)
        timed_batch(port, supplier_key, warm, "created")
        timed_batch(port, supplier_key, warm, "unchanged")

        times: dict[str, list[float]] = {"create": [], "unchanged": [], "update": []}
        for round_ in range(args.rounds):
            prefix = f"R{round_}"
            items = catalogue(prefix, args.products, args.variants)
            times["create"].append(timed_batch(port, supplier_key, items, "created"))
            times["unchanged"].append(timed_batch(port, supplier_key, items, "unchanged"))
            changed = catalogue(prefix, args.products, args.variants, title="Renamed")
            for item in changed:
                item["variants"][0]["weight_grams"] += 1
            times["update"].append(timed_batch(port, supplier_key, changed, "updated"))

        print(
            f"catalogue batch upsert over HTTP: {engine}, {args.products} products x {args.variants} variants "
            f"per request, {args.rounds} rounds, 1 worker"
        )
        print(f"{'phase':<10} {'median s':>9} {'best s':>8} {'products/s (median)':>20}")
        for phase, values in times.items():
            median = statistics.median(values)
            print(f"{phase:<10} {median:>9.3f} {min(values):>8.3f} {args.products / median:>20,.0f}")
        return 0
    finally:
        if server is not None and server.poll() is None:
            try:
                os.killpg(server.pid, signal.SIGINT)
                server.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(server.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if pg is not None:
            pg.drop()


if __name__ == "__main__":
    raise SystemExit(main())
