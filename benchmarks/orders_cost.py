"""What one `POST /v1/orders` costs the database: statements (round trips on PostgreSQL) and CPU
per order, and whether either grows with the tables.

    .venv/bin/python benchmarks/orders_cost.py [--database-url postgresql://postgres@127.0.0.1:5432/NEWDB] \
        [--phases 4] [--orders 1000] [--connections 32] [--keep] [--log-statements] [--profile FILE]

Without `--database-url`: a temporary SQLite file (its statements run in this process, so its
cost is in the "this process" column).

The world of `benchmarks/orders.py` (8 suppliers, 200 locations around Hangzhou, 20 skus,
stocked through `POST /v1/inventory/set`, then ANALYZE), the app called in this process over
ASGI (no server, no sockets), `--connections` orders in flight, every order a new
Idempotency-Key, the same bodies as the HTTP benchmark. Each phase places `--orders` orders and
reports, per order:

- every call the gateway made on its asyncpg connections (queries, BEGIN/COMMIT, SAVEPOINTs,
  `executemany` counted once per call: one round trip), by statement; on SQLite every statement
  run on its connections;
- CPU seconds of the database's server processes (its backends, read from /proc) and of the
  whole PostgreSQL cluster (checkpointer, WAL writer and autovacuum included);
- CPU seconds of this process (the gateway's share, with the client's small part).

Phases run back to back on the growing tables, so a cost that grows with the orders shows as a
rising column. `--log-statements` sets `log_min_duration_statement = 0` on the benchmark
database for the last phase only, so PostgreSQL's log holds every statement with its duration.
The database is created here and dropped at the end (`--keep` keeps it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.auth_get import PostgresDatabase, process_cpu  # noqa: E402
from benchmarks.orders import build, in_process_orders, run_analyze, serve_env  # noqa: E402

_LIST = re.compile(r"\((?:\$\d+, )*\$\d+\)")
_SAVEPOINT = re.compile(r"(SAVEPOINT) \w+")


def _postgres_pids() -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() in ("postgres", "postmaster"):
                        pids.append(int(entry))
            except OSError:
                continue
    return pids


class Calls:
    """Every asyncpg call of the gateway (one round trip each), or every SQLite statement, by
    statement text."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.active = False

    def count(self, query: str) -> None:
        if self.active:
            text = _SAVEPOINT.sub(r"\1 _", _LIST.sub("($…)", " ".join(query.split()))).rstrip(";")
            text = "BEGIN" if text.startswith("BEGIN") else text
            self.counts[text] = self.counts.get(text, 0) + 1

    def install_sqlite(self) -> None:
        from gateway.storage.sqlite import EmbeddedSQLiteEngine

        execute, run_many = EmbeddedSQLiteEngine._execute, EmbeddedSQLiteEngine.run_many

        async def counted_execute(self_: Any, conn: Any, sql: str, args: Any) -> Any:
            calls.count(sql)
            return await execute(self_, conn, sql, args)

        async def counted_many(self_: Any, sql: str, rows: Any) -> Any:
            calls.count(sql)
            return await run_many(self_, sql, rows)

        EmbeddedSQLiteEngine._execute = counted_execute  # type: ignore[method-assign]
        EmbeddedSQLiteEngine.run_many = counted_many  # type: ignore[method-assign]

    def install(self) -> None:
        import asyncpg.connection

        cls = asyncpg.connection.Connection
        for name in ("fetch", "fetchrow", "fetchval", "execute", "executemany"):
            original = getattr(cls, name)

            def wrapper(self_: Any, query: str, *args: Any, __original: Any = original, **kw: Any) -> Any:
                calls.count(query)
                return __original(self_, query, *args, **kw)

            setattr(cls, name, wrapper)


calls = Calls()


async def _stock(app: Any, world: dict[str, Any]) -> None:
    import msgspec

    from benchmarks.orders import ON_HAND
    from benchmarks.profile_auth_get import call, make_scope

    for supplier, key in world["supplier_keys"].items():
        items = [
            {"location_id": location, "sku": sku, "on_hand": ON_HAND, "sequence": 1}
            for location in world["locations"][supplier]
            for sku in world["skus"]
        ]
        body = msgspec.json.encode({"items": items})
        headers = [
            (b"authorization", f"Bearer {key}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        status, answer = await call(app, make_scope("POST", "/v1/inventory/set", headers), body)
        if status != 200:
            raise RuntimeError(f"stocking: {status} {answer[:300]!r}")


async def _run(args: argparse.Namespace, url: str, world: dict[str, Any], pg: PostgresDatabase | None) -> None:
    from gateway.app import create_app
    from gateway.settings import Settings
    from gateway.storage import Database, make_engine, use

    settings = Settings(database_url=url, rate_limit=100_000_000, log_level="WARNING")
    database = Database(make_engine(settings))
    use(database)
    app = create_app(settings, database)
    await _stock(app, world)
    if pg is not None:  # as benchmarks/orders.py: PostgreSQL only (autovacuum would)
        await run_analyze(url)
    failures: dict[int, int] = {}
    place = in_process_orders(app, world, args.connections, failures, "cost", report=True)

    await place(200)  # warm-up: pools, statement caches, the routing index
    calls.install() if pg is not None else calls.install_sqlite()

    async def backend_rows() -> list[dict[str, Any]]:
        if pg is None:
            return []
        return await database.fetch("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")

    backends = await backend_rows()
    print(
        f"{'phase':>5} {'orders in db':>12} {'orders/s':>8} {'stmts/order':>11} {'db backends ms':>14} "
        f"{'all postgres ms':>15} {'this process ms':>15}   (per order)"
    )
    total = 200 + 1
    for phase in range(1, args.phases + 1):
        if args.log_statements and phase == args.phases and pg is not None:
            await database.fetch(f'ALTER DATABASE "{pg.name}" SET log_min_duration_statement = 0')
            await database.close()  # new connections pick the setting up
        pids = {int(row["pid"]) for row in backends}
        everything = _postgres_pids() if pg is not None else []
        before_backends = sum(process_cpu(pid) for pid in pids)
        before_all = sum(process_cpu(pid) for pid in everything)
        before_self = time.process_time()
        calls.counts.clear()
        calls.active = True
        wall = await place(args.orders)
        calls.active = False
        # the pool may have opened connections during the phase: count those too
        rows = await backend_rows()
        new = {int(row["pid"]) for row in rows} - pids
        spent_backends = sum(process_cpu(pid) for pid in pids | new) - before_backends
        spent_all = sum(process_cpu(pid) for pid in set(everything) | new) - before_all
        spent_self = time.process_time() - before_self
        backends = rows
        total += args.orders
        n = args.orders
        statements = sum(calls.counts.values())
        print(
            f"{phase:>5} {total:>12,} {n / wall:>8.0f} {statements / n:>11.2f} {spent_backends / n * 1e3:>14.2f} "
            f"{spent_all / n * 1e3:>15.2f} {spent_self / n * 1e3:>15.2f}",
            flush=True,
        )
    if args.log_statements and pg is not None:
        await database.fetch(f'ALTER DATABASE "{pg.name}" RESET log_min_duration_statement')
    if args.profile:
        import cProfile
        import io
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        await place(args.orders)
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(60)
        stats.sort_stats("tottime").print_stats(40)
        args.profile.write_text(out.getvalue())
        print(f"wrote a cProfile of {args.orders} more orders to {args.profile}")
    print(f"\nnon-201 answers: {failures or 'none'}")
    print(f"\ncalls per order in the last phase ({sum(calls.counts.values()) / args.orders:.2f}):")
    for text, count in sorted(calls.counts.items(), key=lambda item: -item[1]):
        print(f"{count / args.orders:>6.2f}  {text[:220]}")
    check = await database.fetch("SELECT 1")  # noqa: F841 - keeps the pool's loop alive until here
    from suppliers.inventory.services import check as ledger_check

    print(f"\nledger consistent: {not await ledger_check()}")
    await database.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url", help="postgresql://user@127.0.0.1:5432/NEWDB (default: a temporary SQLite file)"
    )
    parser.add_argument("--phases", type=int, default=4)
    parser.add_argument("--orders", type=int, default=1000, help="orders per phase")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--log-statements", action="store_true", help="log every statement of the last phase")
    parser.add_argument("--profile", type=Path, help="then cProfile one more phase into this file")
    args = parser.parse_args()
    pg = PostgresDatabase(args.database_url) if args.database_url else None
    workdir = Path(tempfile.mkdtemp(prefix="orders-cost-"))
    url = f"sqlite:///{workdir / 'orders-cost.db'}"
    if pg is not None:
        pg.create()
        url = pg.url
    try:
        env = serve_env(url)
        os.environ.update({k: v for k, v in env.items() if k.startswith("GATEWAY_")})
        world = asyncio.run(build(url, 8, 200, 20, args.seed, (5.0, 10.0)))
        asyncio.run(_run(args, url, world, pg))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if pg is not None and not args.keep:
            pg.drop()
        elif pg is not None:
            print(f"kept database {pg.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
