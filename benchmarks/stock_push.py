"""`gateway-sdk stock push` of 50,000 rows end to end, against the batch endpoint's own rate.

    .venv/bin/python benchmarks/stock_push.py [--rows 50000] [--batch-size 5000] [--database-url URL]

Starts a real `gateway serve` (granian, one worker) on 127.0.0.1 with one supplier, 250
locations × 200 offered skus, then pushes the same 50,000 levels several ways, each pass a
new count for every level (so every row is applied, none unchanged):

1. raw `POST /v1/inventory/set` with httpx, no `Idempotency-Key` (the endpoint's own rate;
   the first raw pass creates the levels and is reported apart);
2. the same with an `Idempotency-Key` per batch (what the SDK sends);
3. `Gateway.inventory.sync(rows)` in process;
4. `gateway-sdk stock push FILE.csv` as a subprocess: process start, CSV parsing, checks,
   the progress bar and the summary included.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the tests' world builders and servers

from inventory_world import add_location, add_offer, add_supplier
from servers import serving

from gateway.settings import Settings
from gateway.storage import Database, make_engine, use
from gateway.storage.migrate import migrate
from sdk import Gateway

GATEWAY_SDK = str(Path(sys.executable).parent / "gateway-sdk")


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
    return key, location_ids, names


def rows_for(locations: list[str], skus: list[str], total: int, shift: int) -> list[dict[str, object]]:
    pairs = [(loc, sku) for loc in locations for sku in skus][:total]
    return [{"location_id": loc, "sku": sku, "on_hand": 1 + (i + shift) % 97} for i, (loc, sku) in enumerate(pairs)]


def raw_pass(base: str, key: str, rows: list[dict[str, object]], size: int, sequence: int, keyed: bool) -> float:
    started = time.perf_counter()
    with httpx.Client(base_url=base, timeout=300, trust_env=False) as client:
        for start in range(0, len(rows), size):
            items = [{**row, "sequence": sequence} for row in rows[start : start + size]]
            headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
            if keyed:
                headers["Idempotency-Key"] = uuid.uuid4().hex
            response = client.post("/v1/inventory/set", content=msgspec.json.encode({"items": items}), headers=headers)
            body = response.json()
            assert response.status_code == 200 and body["applied"] == len(items), response.text[:300]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
        key, locations, skus = asyncio.run(build(url, 250, max(args.rows // 250, 1)))
        with serving(url, tmp) as (server,):
            figures: list[tuple[str, float]] = []
            seq = time.time_ns() // 1000
            first = raw_pass(server.base, key, rows_for(locations, skus, args.rows, 0), args.batch_size, seq, False)
            figures.append(("raw POST /v1/inventory/set, first pass (creates levels)", first))
            raw = raw_pass(server.base, key, rows_for(locations, skus, args.rows, 1), args.batch_size, seq + 1, False)
            figures.append(("raw POST /v1/inventory/set (the endpoint's own rate)", raw))
            keyed = raw_pass(server.base, key, rows_for(locations, skus, args.rows, 2), args.batch_size, seq + 2, True)
            figures.append(("raw, with an Idempotency-Key per batch", keyed))

            rows = rows_for(locations, skus, args.rows, 3)
            started = time.perf_counter()
            with Gateway(key, base_url=server.base) as client:
                report = client.inventory.sync(rows, batch_size=args.batch_size)
            assert report.applied == args.rows, (report.applied, report.refusals[:3])
            figures.append(("Gateway.inventory.sync(rows), in process", time.perf_counter() - started))

            csv_file = tmp / "counts.csv"
            with csv_file.open("w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=["location_id", "sku", "on_hand"])
                writer.writeheader()
                writer.writerows(rows_for(locations, skus, args.rows, 4))
            started = time.perf_counter()
            done = subprocess.run(
                [GATEWAY_SDK, "stock", "push", str(csv_file), "--batch-size", str(args.batch_size), "--quiet"],
                env={**os.environ, "GATEWAY_URL": server.base, "GATEWAY_API_KEY": key},
                capture_output=True,
                text=True,
                check=False,
            )
            elapsed = time.perf_counter() - started
            assert done.returncode == 0, done.stdout + done.stderr
            figures.append(("gateway-sdk stock push FILE.csv (subprocess, end to end)", elapsed))

    print(f"engine: {url.split(':')[0]}  rows: {args.rows:,}  batch size: {args.batch_size:,}")
    for name, seconds in figures:
        print(f"{name:60s} {args.rows / seconds:10,.0f} rows/s  ({seconds:.2f} s)")


if __name__ == "__main__":
    main()
