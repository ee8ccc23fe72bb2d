"""Batch `POST /v1/inventory/set` throughput over HTTP, in levels per second.

    .venv/bin/python benchmarks/inventory_set.py [--batches 10] [--batch-size 5000] [--database-url URL]

Starts a real `gateway serve` (granian, one worker) on 127.0.0.1, builds one supplier with
100 locations and enough offered skus, then sends the batches one after another, each item a
new count with a higher sequence, and reports levels/s (items applied per wall-clock second,
client JSON encoding and HTTP included). The first batch creates the levels; later ones update.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the tests' world builders and servers

from inventory_world import add_location, add_offer, add_supplier
from servers import serving

from gateway.settings import Settings
from gateway.storage import Database, make_engine, use
from gateway.storage.migrate import migrate
from gateway.tenancy import credentials


async def build(url: str, locations: int, skus: int) -> tuple[str, list[str], list[str]]:
    from gateway.tenancy.services import _insert_key, create_tenant

    database = Database(make_engine(Settings(database_url=url)))
    use(database)
    await migrate()
    tenant = (await create_tenant("bench")).tenant.id
    supplier = await add_supplier(tenant)
    location_ids = [await add_location(tenant, supplier, f"L{i}") for i in range(locations)]
    names = [f"SKU-{i:05d}" for i in range(skus)]
    for sku in names:
        await add_offer(tenant, supplier, sku)
    _, key = await _insert_key(tenant, "supplier", supplier, "secret", "bench")
    await database.close()
    assert credentials.looks_like_key(key)
    return key, location_ids, names


async def run(url: str, batches: int, size: int, tmp: Path) -> None:
    per_location = max(size // 100, 1)
    key, locations, skus = await build(url, 100, per_location)
    with serving(url, tmp) as (server,):
        async with httpx.AsyncClient(timeout=300) as client:
            total = 0
            timings = []
            for batch in range(batches):
                items = [
                    {"location_id": loc, "sku": sku, "on_hand": (batch + i) % 97, "sequence": batch + 1}
                    for i, (loc, sku) in enumerate((place, s) for place in locations for s in skus)
                ][:size]
                started = time.perf_counter()
                response = await client.post(
                    f"{server.base}/v1/inventory/set",
                    content=json.dumps({"items": items}),
                    headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
                )
                elapsed = time.perf_counter() - started
                body = response.json()
                assert response.status_code == 200 and body["applied"] + body["unchanged"] == len(items), response.text[
                    :300
                ]
                total += len(items)
                timings.append(elapsed)
    steady = timings[1:] or timings
    print(f"engine: {url.split(':')[0]}  batch size: {size}  batches: {batches}")
    print(f"first batch (creates the levels): {size / timings[0]:10,.0f} levels/s ({timings[0] * 1000:.0f} ms)")
    print(
        f"later batches (update):           {sum(size for _ in steady) / sum(steady):10,.0f} levels/s "
        f"(median {sorted(steady)[len(steady) // 2] * 1000:.0f} ms per batch)"
    )
    print(f"overall: {total / sum(timings):,.0f} levels/s")


async def _fresh_postgres(url: str) -> tuple[str, str]:
    name = f"bench_{int(time.time())}"
    conn = await asyncpg.connect(url)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return url.rsplit("/", 1)[0] + "/" + name, name


async def _drop(url: str, name: str) -> None:
    conn = await asyncpg.connect(url)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="e.g. postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    if args.postgres:
        url, name = asyncio.run(_fresh_postgres(args.postgres))
        try:
            asyncio.run(run(url, args.batches, args.batch_size, tmp))
        finally:
            asyncio.run(_drop(args.postgres, name))
    else:
        asyncio.run(run(f"sqlite:///{tmp / 'bench.db'}", args.batches, args.batch_size, tmp))


if __name__ == "__main__":
    main()
