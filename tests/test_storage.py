"""The storage layer on both engines: the settings FIELD-NOTES asks for, and exact results
under concurrent read-then-write transactions, in one process and across processes."""

from __future__ import annotations

import asyncio
import os
import secrets
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from gateway.storage import db

WRITER = Path(__file__).with_name("concurrent_writer.py")


async def test_sqlite_connections_use_wal_and_normal_sync(database: Any) -> None:
    if db().dialect != "sqlite":
        pytest.skip("SQLite pragmas")
    rows = await db().fetch("PRAGMA journal_mode")
    assert rows[0]["journal_mode"] == "wal"
    assert (await db().fetch("PRAGMA synchronous"))[0]["synchronous"] == 1  # NORMAL
    assert (await db().fetch("PRAGMA foreign_keys"))[0]["foreign_keys"] == 1


async def _version(supplier_id: str) -> int:
    return int((await db().fetch("SELECT version FROM suppliers WHERE id = ?", supplier_id))[0]["version"])


async def test_concurrent_read_then_write_transactions_lose_nothing(tenant: Any) -> None:
    supplier, _ = await tenant.supplier()

    async def bump() -> None:
        async with db().transaction():
            rows = await db().fetch("SELECT version FROM suppliers WHERE id = ?", supplier["id"])
            await asyncio.sleep(0)  # let the others in, as real work would
            await db().fetch("UPDATE suppliers SET version = ? WHERE id = ?", rows[0]["version"] + 1, supplier["id"])

    if db().dialect == "postgres":
        # READ COMMITTED needs the row lock taken by the read; SQLite's IMMEDIATE takes it at BEGIN.
        pytest.skip("read-then-write on PostgreSQL goes through conditional updates, tested elsewhere")
    await asyncio.gather(*(bump() for _ in range(150)))
    assert await _version(supplier["id"]) == 151


async def test_two_processes_writing_one_database_lose_nothing(tenant: Any, database_url: str) -> None:
    supplier, _ = await tenant.supplier()
    env = {**os.environ, "PYTHONPATH": str(WRITER.parent.parent)}
    processes = [
        subprocess.Popen([sys.executable, str(WRITER), database_url, supplier["id"], "200", "8"], env=env)
        for _ in range(2)
    ]
    codes = await asyncio.gather(*(asyncio.to_thread(p.wait, 120) for p in processes))
    assert codes == [0, 0]
    assert await _version(supplier["id"]) == 401


async def test_conditional_update_has_one_winner_per_version_on_any_engine(tenant: Any) -> None:
    supplier, _ = await tenant.supplier()

    async def attempt() -> bool:
        rows = await db().fetch(
            "UPDATE suppliers SET version = version + 1 WHERE id = ? AND version = ? RETURNING id", supplier["id"], 1
        )
        return bool(rows)

    results = await asyncio.gather(*(attempt() for _ in range(50)))
    assert results.count(True) == 1
    assert await _version(supplier["id"]) == 2


async def test_a_nested_transaction_is_a_savepoint(database: Any) -> None:
    """A block that fails inside a transaction undoes its own writes only: the idempotency layer
    runs a keyed request in one transaction, and a handler's refusal must not leave half of its
    block behind, nor spoil the outer transaction."""
    name = f"nest_{secrets.token_hex(4)}"
    await db().fetch(f"CREATE TABLE {name} (id TEXT PRIMARY KEY)")
    try:
        async with db().transaction():
            await db().fetch(f"INSERT INTO {name} (id) VALUES ('outer')")
            with pytest.raises(ValueError):
                async with db().transaction():
                    await db().fetch(f"INSERT INTO {name} (id) VALUES ('inner')")
                    raise ValueError("refused")
            with pytest.raises(Exception):  # a failed statement inside a savepoint (unique violation)
                async with db().transaction():
                    await db().fetch(f"INSERT INTO {name} (id) VALUES ('outer')")
            async with db().transaction():
                await db().fetch(f"INSERT INTO {name} (id) VALUES ('kept')")
        rows = await db().fetch(f"SELECT id FROM {name} ORDER BY id")
        assert [row["id"] for row in rows] == ["kept", "outer"]
    finally:
        await db().fetch(f"DROP TABLE {name}")


async def test_sqlite_checkpoints_run_on_a_thread_not_inside_commits(tmp_path: Path) -> None:
    """SQLite's automatic checkpoint runs inside the COMMIT that crosses 1,000 WAL pages, stalling
    the loop; our connections turn it off and a thread copies the WAL into the file instead."""
    from gateway.storage.sqlite import EmbeddedSQLiteEngine

    before = {t for t in threading.enumerate() if t.name == "sqlite-checkpoint"}
    path = tmp_path / "checkpoint.db"
    engine = EmbeddedSQLiteEngine(path=str(path))
    await engine.run_sql("CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB)")
    assert (await engine.run_sql("PRAGMA wal_autocheckpoint"))[0]["wal_autocheckpoint"] == 0
    ours = {t for t in threading.enumerate() if t.name == "sqlite-checkpoint"} - before
    assert len(ours) == 1
    size = path.stat().st_size
    for batch in range(8):  # ~3,000 pages of WAL, in several COMMITs
        async with engine.transaction():
            for i in range(200):
                await engine.run_sql("INSERT INTO blobs (body) VALUES (?)", [os.urandom(8000)])
    deadline = asyncio.get_running_loop().time() + 10
    while path.stat().st_size <= size + 8_000_000 and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    assert path.stat().st_size > size + 8_000_000  # the pages reached the database file
    await engine.close()
    thread = ours.pop()
    thread.join(5)
    assert not thread.is_alive()  # the last connection out stops it
    with sqlite3.connect(path) as check:
        assert check.execute("SELECT count(*) FROM blobs").fetchone()[0] == 1600


def test_a_worker_forked_after_close_has_a_working_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`gateway serve` migrates, closes the database and forks its workers at once. SQLite must
    not be open in a process that forks: the checkpointer's thread and its connection must be
    gone when `close()` returns, or the child's first connection can hang or read a "malformed"
    file (CI saw a worker that never became healthy). Every forked child must open and read."""
    import time

    from gateway.storage import sqlite as embedded

    monkeypatch.setattr(embedded, "CHECKPOINT_INTERVAL_SECONDS", 0.001)
    path = tmp_path / "fork.db"
    others = {t for t in threading.enumerate() if t.name == "sqlite-checkpoint"}  # the suite's database
    failed = []
    for round_ in range(30):
        engine = embedded.EmbeddedSQLiteEngine(path=str(path))

        async def use(engine: Any = engine, round_: int = round_) -> None:
            if round_ == 0:
                await engine.run_sql("CREATE TABLE rows (id INTEGER PRIMARY KEY, body BLOB)")
            async with engine.transaction():
                for _ in range(50):  # a WAL the thread is still checkpointing when close begins
                    await engine.run_sql("INSERT INTO rows (body) VALUES (?)", [os.urandom(4000)])
            await asyncio.sleep(0.002)
            await engine.close()

        asyncio.run(use())
        assert {t for t in threading.enumerate() if t.name == "sqlite-checkpoint"} <= others
        pid = os.fork()
        if pid == 0:  # the worker: a fresh connection, one read, out
            try:
                with sqlite3.connect(path, timeout=5) as conn:
                    code = 0 if conn.execute("SELECT count(*) FROM rows").fetchone()[0] == 50 * (round_ + 1) else 2
                os._exit(code)
            except BaseException as error:
                os.write(2, f"child: {error!r}\n".encode())
                os._exit(1)
        deadline = time.monotonic() + 10
        while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        if done[0] == 0:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            failed.append((round_, "hung"))
        elif os.waitstatus_to_exitcode(done[1]) != 0:
            failed.append((round_, os.waitstatus_to_exitcode(done[1])))
    assert failed == []


async def test_a_filter_only_term_leaves_the_index_to_the_candidates(database: Any) -> None:
    """Routing's stock read names a few candidate locations: SQLite (no statistics) must probe
    `(location_id, sku)` for them, not read every location stocking the sku by `(tenant_id, sku)`."""
    if db().dialect != "sqlite":
        pytest.skip("PostgreSQL plans from statistics")
    any_of = db().any_of_sql
    sql = (
        f"SELECT l.id FROM inventory_levels l WHERE {db().filter_only_sql('l.tenant_id')} = ? "
        f"AND {any_of('l.sku')} AND {any_of('l.location_id')}"
    )
    plan = " ".join(row["detail"] for row in await db().fetch("EXPLAIN QUERY PLAN " + sql, "t", '["a"]', '["b", "c"]'))
    assert "inventory_levels_location_sku" in plan
    plain = sql.replace(db().filter_only_sql("l.tenant_id"), "l.tenant_id")
    plan = " ".join(row["detail"] for row in await db().fetch("EXPLAIN QUERY PLAN " + plain, "t", '["a"]', '["b"]'))
    assert "inventory_levels_location_sku" not in plan  # what the `+` is for


async def test_queued_writes_keep_the_meaning_of_plain_ones(database: Any) -> None:
    """`Database.write` may wait (PostgreSQL sends a transaction's queued writes as one
    statement) but means what an immediate write means: a read in the transaction sees them, a
    savepoint that fails drops its own, a refused one fails the commit and keeps nothing, and
    outside a transaction it is written at once."""
    name = f"queued_{secrets.token_hex(4)}"
    await db().fetch(f"CREATE TABLE {name} (id TEXT PRIMARY KEY, n INTEGER NOT NULL)")

    async def ids() -> list[str]:
        return [row["id"] for row in await db().fetch(f"SELECT id FROM {name} ORDER BY id")]

    insert = f"INSERT INTO {name} (id, n) VALUES (?, ?)"
    try:
        await db().write(insert, "alone", 0)
        assert await ids() == ["alone"]
        async with db().transaction():
            await db().write(insert, "a", 1)
            await db().write_many(insert, [("b", 2), ("c", 3)])
            assert await ids() == ["a", "alone", "b", "c"]  # the read sends them first
            await db().write(insert, "d", 4)
            with pytest.raises(ValueError):
                async with db().transaction():
                    await db().write(insert, "inner", 5)
                    raise ValueError("refused")
            async with db().transaction():
                await db().write(insert, "kept", 6)
            await db().write_many(insert, [(f"many-{n:05d}", n) for n in range(20_000)])  # > one statement's limit
        assert len(await ids()) == 20_006 and "inner" not in await ids()
        with pytest.raises(Exception):  # the refused write surfaces at the commit, and takes the rest with it
            async with db().transaction():
                await db().write(insert, "lost", 7)
                await db().write(insert, "a", 8)
        assert "lost" not in await ids()
    finally:
        await db().fetch(f"DROP TABLE {name}")
