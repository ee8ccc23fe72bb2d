"""The ledger's conditional take rate with 32 concurrent callers, against raw sqlite3.

    .venv/bin/python benchmarks/ledger_take.py [--seconds 5] [--callers 32] [--database-url URL]

Three figures, one run, one machine:
- raw sqlite3: one connection, WAL + synchronous=NORMAL, the bare conditional
  `UPDATE … WHERE available >= 1 RETURNING` in autocommit (the ceiling FIELD-NOTES measured);
- raw sqlite3, same work as ours: that UPDATE plus the movement and reservation INSERTs in
  one BEGIN IMMEDIATE transaction;
- the gateway's `suppliers.inventory.services.reserve` (the same three statements through
  the storage layer), called by N concurrent asyncio tasks.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the tests' world builders

from gateway.settings import Settings
from gateway.storage import Database, make_engine, use
from gateway.storage.migrate import migrate

STOCK = 10**9


async def gateway_rate(url: str, seconds: float, callers: int) -> tuple[float, int]:
    from inventory_world import add_location, add_offer, add_supplier

    from gateway.ids import new_id
    from gateway.tenancy.principal import Principal
    from gateway.tenancy.services import create_tenant
    from suppliers.inventory import services
    from suppliers.inventory.schemas import SetItem

    database = Database(make_engine(Settings(database_url=url)))
    use(database)
    await migrate()
    tenant = (await create_tenant("bench")).tenant.id
    supplier = await add_supplier(tenant)
    location = await add_location(tenant, supplier)
    sku = "BENCH-" + new_id("x")[-6:]
    await add_offer(tenant, supplier, sku)
    operator = Principal(tenant_id=tenant, type="operator", owner_id=None, key_id="bench", key_kind="secret")
    await services.set_levels(operator, [SetItem(location_id=location, sku=sku, on_hand=STOCK, sequence=1)])

    taken = 0
    stop = time.perf_counter() + seconds

    async def caller() -> None:
        nonlocal taken
        while time.perf_counter() < stop:
            if await services.reserve(tenant, location, sku, 1, timedelta(minutes=10)):
                taken += 1

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(callers)))
    elapsed = time.perf_counter() - started
    problems = await services.check()
    await database.close()
    return taken / elapsed, len(problems)


def raw_rates(seconds: float) -> tuple[float, float]:
    path = Path(tempfile.mkdtemp()) / "raw.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE levels (id INTEGER PRIMARY KEY, location_id TEXT, sku TEXT, on_hand INT, reserved INT, "
        "committed INT, safety_stock INT, UNIQUE (location_id, sku))"
    )
    conn.execute(
        "CREATE TABLE movements (id TEXT PRIMARY KEY, location_id TEXT, sku TEXT, d INT, reason TEXT, at TEXT)"
    )
    conn.execute("CREATE TABLE holds (id TEXT PRIMARY KEY, location_id TEXT, sku TEXT, qty INT, expires_at TEXT)")
    conn.execute("INSERT INTO levels VALUES (1, 'loc', 'sku', ?, 0, 0, 0)", (STOCK,))
    take = (
        "UPDATE levels SET reserved = reserved + 1 WHERE location_id = 'loc' AND sku = 'sku' "
        "AND on_hand - reserved - committed - safety_stock >= 1 RETURNING id"
    )

    def run(body: object) -> float:
        count = 0
        stop = time.perf_counter() + seconds
        started = time.perf_counter()
        while time.perf_counter() < stop:
            for _ in range(100):
                body()  # type: ignore[operator]
            count += 100
        return count / (time.perf_counter() - started)

    bare = run(lambda: conn.execute(take).fetchall())
    n = iter(range(10**12))

    def full() -> None:
        i = next(n)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(take).fetchall()
        conn.execute("INSERT INTO movements VALUES (?, 'loc', 'sku', 1, 'reserved', datetime('now'))", (f"m{i}",))
        conn.execute("INSERT INTO holds VALUES (?, 'loc', 'sku', 1, datetime('now'))", (f"h{i}",))
        conn.execute("COMMIT")

    return bare, run(full)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--callers", type=int, default=32)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    bare, full = raw_rates(args.seconds)
    ours, problems = asyncio.run(gateway_rate(url, args.seconds, args.callers))
    print(f"raw sqlite3, bare conditional UPDATE (autocommit):      {bare:10,.0f} takes/s")
    print(f"raw sqlite3, UPDATE + 2 INSERTs in one transaction:     {full:10,.0f} takes/s")
    print(f"gateway reserve(), {args.callers} concurrent callers ({url.split(':')[0]}): {ours:10,.0f} takes/s")
    print(f"ratio gateway / raw bare: {ours / bare:.1%}   gateway / raw same work: {ours / full:.1%}")
    print(f"ledger check after the run: {'consistent' if problems == 0 else f'{problems} levels disagree'}")


if __name__ == "__main__":
    main()
