"""Statements over a month of 1,000,000 order lines.

    .venv/bin/python benchmarks/statements.py [--lines 1000000] [--url sqlite:///PATH | postgresql://...]

A tenant with 200 suppliers (5,000 locations) and 20 channels; the journal (`money_entries`)
gets `--lines` entries spread over the 30 days of last month (sales, each shipment's delivery
fee, and 6 % reversals: cancellations, returns, re-routes), plus a tenth as many the month
before, so the statements have an opening balance. Written with bulk SQL, as `journal.record`
would have left the rows. Then, timed as the API runs them (`channels.statements.services`):

1. the first statement read: it closes the 60 days into `statement_days` (once per day, ever);
2. every party's statement for the month (`GET /v1/statements` as the operator);
3. one supplier's, one channel's and the platform's statement;
4. one supplier's lines as CSV (streamed), and the whole journal's month as CSV;
5. per-store attribution for the month;
6. for comparison, the platform's month summed straight from the journal (no closed days).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.auth_get import source_fingerprint, versions  # noqa: E402


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def build(lines: int, seed: int) -> tuple[str, list[str], list[str], date, date]:
    from gateway.ids import new_id
    from gateway.storage import db
    from gateway.tenancy.services import create_tenant

    rng = random.Random(seed)
    tenant = (await create_tenant("statements-bench")).tenant.id
    now = datetime.now(UTC)
    suppliers = [new_id("sup") for _ in range(200)]
    channels = [new_id("chn") for _ in range(20)]
    locations = [(new_id("loc"), suppliers[n % 200]) for n in range(5_000)]
    async with db().transaction():
        await db().execute_many(
            "INSERT INTO suppliers (id, tenant_id, name, status, version, created_at, updated_at) "
            "VALUES (?, ?, ?, 'active', 1, ?, ?)",
            [(s, tenant, f"Supplier {n}", now, now) for n, s in enumerate(suppliers)],
        )
        await db().execute_many(
            "INSERT INTO channels (id, tenant_id, name, kind, status, version, created_at, updated_at) "
            "VALUES (?, ?, ?, 'reseller', 'active', 1, ?, ?)",
            [(c, tenant, f"Channel {n}", now, now) for n, c in enumerate(channels)],
        )
    first_of_month = now.date().replace(day=1)
    last = first_of_month - timedelta(days=1)
    first = last.replace(day=1)
    before = (first - timedelta(days=1)).replace(day=1)
    columns = (
        "id, tenant_id, at, day, kind, order_id, fulfilment_order_id, channel_id, supplier_id, location_id, sku, qty, "
        "currency, retail_amount, wholesale_amount, platform_fee_amount, channel_margin_amount, delivery_fee_amount"
    )
    insert = f"INSERT INTO money_entries ({columns}) VALUES ({', '.join('?' for _ in columns.split(','))})"

    def rows(count: int, start: date, days: int) -> list[tuple[object, ...]]:
        out: list[tuple[object, ...]] = []
        while len(out) < count:
            day = start + timedelta(days=rng.randrange(days))
            at = datetime(day.year, day.month, day.day, rng.randrange(24), rng.randrange(60), tzinfo=UTC)
            location, supplier = locations[rng.randrange(len(locations))]
            channel = channels[rng.randrange(len(channels))]
            order, share = new_id("ord"), new_id("ful")
            kind = "sale" if rng.random() > 0.06 else rng.choice(["cancellation", "return", "reroute"])
            sign = 1 if kind == "sale" else -1
            for _ in range(rng.randint(1, 3)):
                qty = rng.randint(1, 4)
                unit = rng.randrange(500, 9_000)
                retail = qty * unit
                wholesale = qty * (unit * 7 // 10)
                fee = (retail * 500 + 5_000) // 10_000
                out.append((
                    new_id("mny"), tenant, at, day.isoformat(), kind, order, share, channel, supplier, location,
                    f"SKU-{rng.randrange(2_000):04d}", sign * qty, "CNY", sign * retail, sign * wholesale,
                    sign * fee, sign * (retail - wholesale - fee), 0,
                ))  # fmt: skip
            if rng.random() < 0.5:
                out.append((
                    new_id("mny"), tenant, at, day.isoformat(), kind, order, share, channel, supplier, location,
                    None, 0, "CNY", 0, 0, 0, 0, sign * 500,
                ))  # fmt: skip
        return out[:count]

    started = time.perf_counter()
    for count, start, days in ((lines // 10, before, (first - before).days), (lines, first, (last - first).days + 1)):
        for offset in range(0, count, 100_000):
            batch = rows(min(100_000, count - offset), start, days)
            async with db().transaction():
                await db().execute_many(insert, batch)
            log(f"  {offset + len(batch):,} entries from {start} ({time.perf_counter() - started:.0f} s)")
    if db().dialect == "sqlite":
        await db().fetch("ANALYZE")
    else:
        await db().fetch("ANALYZE money_entries")
    return tenant, suppliers, channels, first, last


async def run(url: str, lines: int, seed: int) -> None:
    from channels.statements import services
    from gateway.settings import Settings
    from gateway.storage import Database, db, make_engine, use
    from gateway.storage.migrate import migrate
    from gateway.tenancy.principal import Principal

    database = Database(make_engine(Settings(database_url=url)))
    use(database)
    with contextlib.redirect_stderr(io.StringIO()):
        await migrate()
    started = time.perf_counter()
    tenant, suppliers, channels, first, last = await build(lines, seed)
    log(f"journal written in {time.perf_counter() - started:.0f} s")
    total = (await db().fetch("SELECT COUNT(*) AS n FROM money_entries WHERE tenant_id = ?", tenant))[0]["n"]
    month = (
        await db().fetch(
            "SELECT COUNT(*) AS n FROM money_entries WHERE tenant_id = ? AND day >= ? AND day <= ?",
            tenant,
            first.isoformat(),
            last.isoformat(),
        )
    )[0]["n"]
    print(f"engine: {db().dialect}; journal: {total:,} entries, {month:,} of them in {first}..{last}")
    operator = Principal(tenant_id=tenant, type="operator", owner_id=None, key_id="bench", key_kind="secret")
    supplier = services.Party(type="supplier", id=suppliers[0])
    channel = services.Party(type="channel", id=channels[0])
    platform = services.Party(type="platform", id=tenant)

    async def timed(label: str, work: object) -> object:
        began = time.perf_counter()
        result = await work  # type: ignore[misc]
        print(f"{label}: {time.perf_counter() - began:.2f} s")
        return result

    await timed("1. first read: close 60 days into statement_days", services.close_days(tenant))
    page, _ = await timed(  # type: ignore[misc]
        "2. every party's statement for the month (221 parties)", services.statements(tenant, first, last, None, 500)
    )
    assert len(page) == 221, len(page)
    await timed("3a. one supplier's statement", services.statement(tenant, supplier, first, last))
    await timed("3b. one channel's statement", services.statement(tenant, channel, first, last))
    await timed("3c. the platform's statement", services.statement(tenant, platform, first, last))

    async def export(party: services.Party | None) -> int:
        count = 0
        async for chunk in services.csv_rows(tenant, party, first, last):
            count += chunk.count("\n")
        return count

    began = time.perf_counter()
    rows = await export(supplier)
    print(f"4a. one supplier's month as CSV: {time.perf_counter() - began:.2f} s ({rows:,} rows)")
    began = time.perf_counter()
    rows = await export(None)
    print(f"4b. the whole journal's month as CSV: {time.perf_counter() - began:.2f} s ({rows:,} rows)")
    await timed(
        "5. per-store attribution for the month (first page of 200 locations)",
        services.attribution(operator, "location", first, last, {}, None, 200),
    )
    await timed(
        "6. the platform's month summed straight from the journal (for comparison)",
        db().fetch(
            "SELECT day, currency, SUM(platform_fee_amount) AS amount, COUNT(*) AS n FROM money_entries "
            "WHERE tenant_id = ? AND day >= ? AND day <= ? GROUP BY day, currency",
            tenant,
            first.isoformat(),
            last.isoformat(),
        ),
    )
    await database.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--url", help="a database URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; {os.cpu_count()} CPUs; {versions()}")
    print(f"app source: {source_fingerprint()}; load average {os.getloadavg()}")
    url = args.url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='statements-bench-')) / 'statements.db'}"
    asyncio.run(run(url, args.lines, args.seed))


if __name__ == "__main__":
    main()
