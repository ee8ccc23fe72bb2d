"""Background sweeps shared by several processes on PostgreSQL (issue 8).

    .venv/bin/python benchmarks/background_sweeps.py [--processes 1,3] [--holds 3000] [--seconds 20]
        [--admin-url postgresql://postgres@127.0.0.1:5432/postgres] [--baseline PATH]

For each process count it creates a PostgreSQL database of its own (dropped at the end), a
tenant with one supplier location and an offered sku, and:

1. **Each expired hold released once.** `--holds` reservations of one unit, all past their
   expiry, then N `gateway worker` processes started together (sweep every second). It waits
   until every hold is released and counts, per hold, the `reservation_released` movements
   (must be exactly 1), checks the level (`reserved` back to 0) and the ledger (`check()`), and
   reports the seconds it took.
2. **Database work per sweep interval.** With 500 holds live (not yet due) and nothing to
   release, N processes run for `--seconds`; from `pg_stat_database` (this database only) it
   reports transactions and rows read per second, and from `background_jobs` how many sweep
   ticks ran. With `--baseline PATH` (a checkout of the code before issue 8, where every
   process swept on its own) the same idle measurement runs `gateway serve` from PATH.

Load: other engineers share this 2-core machine; the figures say what this machine did then.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the tests' world builders
BIN = Path(sys.executable).parent


async def _admin(url: str, sql: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def _stats(url: str, name: str) -> dict[str, int]:
    connection = await asyncpg.connect(url)
    try:
        row = await connection.fetchrow(
            "SELECT xact_commit + xact_rollback AS xacts, tup_returned + tup_fetched AS rows_read FROM pg_stat_database "
            "WHERE datname = $1",
            name,
        )
        await connection.execute("SELECT pg_stat_clear_snapshot()")
        return {"xacts": int(row["xacts"]), "rows_read": int(row["rows_read"])}
    finally:
        await connection.close()


async def _world(url: str, holds: int, expired: bool) -> tuple[str, str, str]:
    """A tenant, a location stocked with an offered sku, and `holds` one-unit reservations."""
    from inventory_world import add_location, add_offer, add_supplier

    from gateway.ids import new_id
    from gateway.settings import Settings
    from gateway.storage import Database, db, make_engine, use
    from gateway.tenancy.principal import Principal
    from gateway.tenancy.services import create_tenant
    from suppliers.inventory import services
    from suppliers.inventory.schemas import SetItem

    # migrated by a `gateway migrate` of its own: Piccolo's configuration keeps the engine it
    # first saw, and each round of this script has a database of its own
    subprocess.run(  # noqa: ASYNC221 - setup, before anything is measured
        [str(BIN / "python"), "-m", "gateway", "migrate"],
        env={**os.environ, "GATEWAY_DATABASE_URL": url},
        check=True,
        capture_output=True,
    )
    database = Database(make_engine(Settings(database_url=url)))
    use(database)
    tenant = (await create_tenant("sweeps")).tenant.id
    supplier = await add_supplier(tenant)
    location = await add_location(tenant, supplier)
    sku = "SWEEP-" + new_id("x")[-6:]
    await add_offer(tenant, supplier, sku)
    operator = Principal(tenant_id=tenant, type="operator", owner_id=None, key_id="bench", key_kind="secret")
    await services.set_levels(operator, [SetItem(location_id=location, sku=sku, on_hand=10**6, sequence=1)])
    for _ in range(holds):
        await services.reserve(tenant, location, sku, 1, timedelta(hours=1))
    if expired:
        await db().fetch(
            "UPDATE reservations SET expires_at = expires_at - INTERVAL '2 hours' WHERE tenant_id = ?", tenant
        )
    await database.close()
    return tenant, location, sku


def _start(kind: str, url: str, count: int, log_dir: Path, baseline: Path | None) -> list[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "GATEWAY_DATABASE_URL": url,
        "GATEWAY_RESERVATION_SWEEP_SECONDS": "1",
        "GATEWAY_LOG_LEVEL": "WARNING",
        "GATEWAY_DATA_KEYS": os.environ.get("GATEWAY_DATA_KEYS", ""),
        "GATEWAY_INDEX_KEY": os.environ.get("GATEWAY_INDEX_KEY", ""),
    }
    if baseline is not None:
        env["PYTHONPATH"] = str(baseline)
    processes = []
    for index in range(count):
        if kind == "worker":
            command = [str(BIN / "python"), "-m", "gateway", "worker"]
        else:  # the baseline: `gateway serve`, whose every process swept
            command = [str(BIN / "python"), "-m", "gateway", "serve", "--port", str(_free_port())]
        log = (log_dir / f"{kind}-{index}.log").open("wb")
        # `python -m` puts the working directory first on sys.path: the baseline's own, or one
        # with no code in it
        cwd = baseline if baseline is not None else log_dir
        processes.append(subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT))
    return processes


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


async def release_once(
    admin_url: str, processes: int, holds: int, log_dir: Path, baseline: Path | None = None
) -> dict[str, Any]:
    name = f"gateway_sweeps_{secrets.token_hex(4)}"
    url = urlparse(admin_url)._replace(path=f"/{name}").geturl()
    await _admin(admin_url, f'CREATE DATABASE "{name}"')
    try:
        tenant, location, sku = await _world(url, holds, expired=True)
        connection = await asyncpg.connect(url)
        before = await _stats(admin_url, name)
        started = time.monotonic()
        workers = _start("serve" if baseline else "worker", url, processes, log_dir, baseline)
        try:
            while time.monotonic() - started < 120:
                left = await connection.fetchval(
                    "SELECT COUNT(*) FROM reservations WHERE tenant_id = $1 AND status = 'held'", tenant
                )
                if left == 0:
                    break
                await asyncio.sleep(0.05)
            elapsed = time.monotonic() - started
            done = await _stats(admin_url, name)
            await asyncio.sleep(2.5)  # two more sweep intervals: nothing may be released twice
        finally:
            _stop(workers)
        per_hold = await connection.fetch(
            "SELECT reference, COUNT(*) AS n FROM inventory_movements WHERE tenant_id = $1 "
            "AND reason = 'reservation_released' GROUP BY reference",
            tenant,
        )
        level = await connection.fetchrow(
            "SELECT on_hand, reserved FROM inventory_levels WHERE tenant_id = $1 AND location_id = $2 AND sku = $3",
            tenant,
            location,
            sku,
        )
        runs = await connection.fetch("SELECT name, runs FROM background_jobs ORDER BY name")
        await connection.close()
        counts = [int(row["n"]) for row in per_hold]
        return {
            "code": "baseline (every process sweeps)" if baseline else "issue 8 (worker)",
            "processes": processes,
            "holds": holds,
            "released": len(counts),
            "released_twice": sum(1 for n in counts if n > 1),
            "reserved_after": int(level["reserved"]),
            "seconds_from_start": round(elapsed, 2),
            "transactions": done["xacts"] - before["xacts"],
            "rows_read": done["rows_read"] - before["rows_read"],
            "ticks": {row["name"]: int(row["runs"]) for row in runs} if not baseline else None,
        }
    finally:
        await _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def idle_work(
    admin_url: str, kind: str, processes: int, seconds: float, log_dir: Path, baseline: Path | None
) -> dict[str, Any]:
    name = f"gateway_sweeps_{secrets.token_hex(4)}"
    url = urlparse(admin_url)._replace(path=f"/{name}").geturl()
    await _admin(admin_url, f'CREATE DATABASE "{name}"')
    try:
        await _world(url, 500, expired=False)
        workers = _start(kind, url, processes, log_dir, baseline)
        try:
            await asyncio.sleep(6)  # started, migrated, first random-offset ticks behind us
            before = await _stats(admin_url, name)
            ticks_before = await _ticks(url)
            await asyncio.sleep(seconds)
            after = await _stats(admin_url, name)
            ticks_after = await _ticks(url)
        finally:
            _stop(workers)
        return {
            "code": "baseline (every process sweeps)" if baseline else f"issue 8 ({kind})",
            "processes": processes,
            "transactions_per_s": round((after["xacts"] - before["xacts"]) / seconds, 1),
            "rows_read_per_s": round((after["rows_read"] - before["rows_read"]) / seconds, 1),
            "sweep_ticks_per_s": round((ticks_after - ticks_before) / seconds, 2) if ticks_after >= 0 else None,
        }
    finally:
        await _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _ticks(url: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        exists = await connection.fetchval("SELECT to_regclass('background_jobs') IS NOT NULL")
        if not exists:
            return -1
        return int(
            await connection.fetchval(
                "SELECT COALESCE(SUM(runs), 0) FROM background_jobs WHERE name IN "
                "('inventory.expire_reservations', 'fulfilment.acceptance_deadlines')"
            )
        )
    finally:
        await connection.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", default="1,3")
    parser.add_argument("--holds", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--baseline", type=Path, default=None, help="a checkout of the code before issue 8")
    args = parser.parse_args()
    from gateway.crypto import new_index_key, new_key_line

    os.environ.setdefault("GATEWAY_DATA_KEYS", new_key_line())
    os.environ.setdefault("GATEWAY_INDEX_KEY", new_index_key())
    log_dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"sweeps-{secrets.token_hex(3)}"
    log_dir.mkdir()
    counts = [int(n) for n in args.processes.split(",")]
    print(f"load average before: {os.getloadavg()}")
    for count in counts:
        print("release once:", await release_once(args.admin_url, count, args.holds, log_dir))
        if args.baseline is not None:
            print("release once:", await release_once(args.admin_url, count, args.holds, log_dir, args.baseline))
    for count in counts:
        print("idle work:   ", await idle_work(args.admin_url, "worker", count, args.seconds, log_dir, None))
        if args.baseline is not None:
            print(
                "idle work:   ", await idle_work(args.admin_url, "serve", count, args.seconds, log_dir, args.baseline)
            )
    print(f"load average after: {os.getloadavg()}; logs in {log_dir}")


if __name__ == "__main__":
    asyncio.run(main())
