"""Run by test_storage in separate processes: bump one supplier's version N times,
each bump a read-then-write transaction, as concurrent tasks."""

from __future__ import annotations

import asyncio
import sys

from gateway.settings import Settings
from gateway.storage import Database, db, make_engine, use


async def bump(supplier_id: str) -> None:
    async with db().transaction():
        if db().dialect == "postgres":  # READ COMMITTED: the read must lock the row it will write
            rows = await db().fetch("SELECT version FROM suppliers WHERE id = ? FOR UPDATE", supplier_id)
        else:  # SQLite: BEGIN IMMEDIATE already holds the write lock
            rows = await db().fetch("SELECT version FROM suppliers WHERE id = ?", supplier_id)
        await db().fetch("UPDATE suppliers SET version = ? WHERE id = ?", rows[0]["version"] + 1, supplier_id)


async def main(url: str, supplier_id: str, times: int, tasks: int) -> None:
    database = Database(make_engine(Settings(database_url=url)))
    use(database)
    per_task = times // tasks

    async def worker() -> None:
        for _ in range(per_task):
            await bump(supplier_id)

    await asyncio.gather(*(worker() for _ in range(tasks)))
    await database.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
