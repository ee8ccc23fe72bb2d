"""Sharing work between processes through the database.

- `take_turn`: a cluster-wide job's tick is started by one process per interval: the process
  holding the job's lease (its leader) renews it with the tick, in one conditional UPDATE of the
  job's row; the others only try now and then whether the lease has lapsed (the leader died or
  stopped), so the database work per interval does not grow with the number of processes.
- `claim_due`: lease up to N due rows of a table to this process (a queue): `UPDATE … WHERE key
  IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED) RETURNING *`. Each row goes to one process, which
  owns it until the lease lapses; a process killed mid-work loses nothing, its rows come back
  when their lease lapses. The worker clears or moves the lease column when it is done.
- `lock_due`: inside a transaction, lock up to N due rows, skipping those another transaction
  holds; the locks last until the transaction ends (short, database-only work).

SQLite serialises writers, so there the same statements simply run one process at a time.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any

from gateway.storage import db, process_id

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def now_ms() -> int:
    return int(time.time() * 1000)


def _name(value: str) -> str:
    if not _IDENTIFIER.match(value):
        raise ValueError(f"not an SQL identifier: {value!r}")
    return value


async def ensure_lease_rows(names: Sequence[str]) -> None:
    for name in names:
        await db().fetch("INSERT INTO background_jobs (name) VALUES (?) ON CONFLICT (name) DO NOTHING", name)


async def take_turn(name: str, interval_seconds: float, lease_seconds: float, holder: str | None = None) -> bool:
    """Run this interval's tick of job `name` here? True when it is due and this process holds
    the job's lease (it did, or the lease lapsed): the lease is renewed for `lease_seconds`."""
    now = now_ms()
    me = holder or process_id()
    rows = await db().fetch(
        "UPDATE background_jobs SET holder = ?, lease_until_ms = ?, next_run_ms = ?, runs = runs + 1 "
        "WHERE name = ? AND next_run_ms <= ? AND (holder = ? OR lease_until_ms <= ?) RETURNING name",
        me,
        now + int(lease_seconds * 1000),
        now + int(interval_seconds * 1000),
        name,
        now,
        me,
        now,
    )
    return bool(rows)


async def end_turn(name: str, items: int, error: str = "", holder: str | None = None) -> None:
    """Record what a tick did (called when it handled something or failed: an idle tick costs
    the claim alone)."""
    await db().fetch(
        "UPDATE background_jobs SET last_items = ?, last_finished_ms = ?, last_error = ? WHERE name = ? AND holder = ?",
        items,
        now_ms(),
        error[:2000],
        name,
        holder or process_id(),
    )


async def give_up(name: str, holder: str | None = None) -> None:
    """Hand the lease back (shutdown): another process takes the job at its next try."""
    await db().fetch(
        "UPDATE background_jobs SET lease_until_ms = 0 WHERE name = ? AND holder = ?", name, holder or process_id()
    )


async def claim_due(
    table: str,
    *,
    where: str,
    args: Sequence[Any] = (),
    order_by: str,
    limit: int,
    lease_seconds: float,
    lease_column: str = "locked_until_ms",
    holder_column: str | None = "locked_by",
    key: str = "id",
) -> list[dict[str, Any]]:
    """Lease up to `limit` rows of `table` matching `where` (with `?` placeholders bound to
    `args`) whose `lease_column` (epoch ms) has lapsed, oldest `order_by` first, to this process,
    and return them whole. `key` is a column unique in the table. Run it outside a transaction
    (the claim commits at once, so other processes see it) or inside one (it lasts as long)."""
    now = now_ms()
    table, lease_column, key = _name(table), _name(lease_column), _name(key)
    assignments = f"{lease_column} = ?"
    values: list[Any] = [now + int(lease_seconds * 1000)]
    if holder_column is not None:
        assignments += f", {_name(holder_column)} = ?"
        values.append(process_id())
    database = db()
    return await database.fetch(
        f"UPDATE {table} SET {assignments} WHERE {key} IN ("
        f"SELECT {key} FROM {table} WHERE ({where}) AND {lease_column} <= ? "
        f"ORDER BY {order_by} LIMIT ?{database.skip_locked_sql}) RETURNING *",
        *values,
        *args,
        now,
        limit,
    )


async def lock_due(
    table: str, *, columns: str = "*", where: str, args: Sequence[Any] = (), order_by: str, limit: int
) -> list[dict[str, Any]]:
    """Inside a transaction: up to `limit` rows of `table` matching `where`, locked for this
    transaction; rows another transaction has locked are skipped, not waited for."""
    database = db()
    if database.engine.current_transaction.get() is None:
        raise RuntimeError("lock_due needs a transaction: its locks end with it")
    return await database.fetch(
        f"SELECT {columns} FROM {_name(table)} WHERE ({where}) ORDER BY {order_by} LIMIT ?{database.skip_locked_sql}",
        *args,
        limit,
    )
