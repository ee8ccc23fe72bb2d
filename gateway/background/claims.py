"""Sharing work between processes through the database.

- `take_turn`: a cluster-wide job's tick is started by one process per interval. Every process
  tries one conditional UPDATE of the job's lease row; exactly one matches.
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
    """Start this interval's tick of job `name` here, unless it is not due or another process
    runs it. True when this process won and must run the tick, then call `end_turn`."""
    now = now_ms()
    rows = await db().fetch(
        "UPDATE background_jobs SET holder = ?, lease_until_ms = ?, next_run_ms = ?, runs = runs + 1 "
        "WHERE name = ? AND next_run_ms <= ? AND lease_until_ms <= ? RETURNING name",
        holder or process_id(),
        now + int(lease_seconds * 1000),
        now + int(interval_seconds * 1000),
        name,
        now,
        now,
    )
    return bool(rows)


async def end_turn(name: str, items: int, error: str = "", holder: str | None = None) -> None:
    await db().fetch(
        "UPDATE background_jobs SET lease_until_ms = 0, last_items = ?, last_finished_ms = ?, last_error = ? "
        "WHERE name = ? AND holder = ?",
        items,
        now_ms(),
        error[:2000],
        name,
        holder or process_id(),
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
