"""The storage layer: engine choice, table binding, and the little engine-specific SQL.

Everything that differs between SQLite and PostgreSQL (pragmas, placeholders, the
event-feed horizon) lives under this package, behind `Database` (DESIGN §10).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence
from typing import Any
from urllib.parse import urlparse

import msgspec
from piccolo.table import Table

from gateway.settings import Dialect, Settings
from gateway.storage.postgres import PooledPostgresEngine
from gateway.storage.sqlite import EmbeddedSQLiteEngine

AnyEngine = EmbeddedSQLiteEngine | PooledPostgresEngine


def sqlite_path(url: str) -> str:
    """`sqlite:///./gateway.db` → `./gateway.db`; `sqlite:////abs/x.db` → `/abs/x.db`."""
    if not url.startswith("sqlite:///"):
        raise ValueError(f"not a sqlite URL: {url!r}")
    return url[len("sqlite:///") :] or "gateway.db"


def postgres_config(url: str) -> dict[str, Any]:
    """asyncpg connection arguments: the URL as a DSN, so that its query parameters (`sslmode`,
    `host=/run/postgresql` sockets, `target_session_attrs`, ...) reach libpq's parser intact."""
    config: dict[str, Any] = {"dsn": url}
    name = urlparse(url).path.lstrip("/")
    if name:
        config["database"] = name  # Piccolo names the engine after it; asyncpg gives it precedence: same value
    return config


def make_engine(settings: Settings) -> AnyEngine:
    if settings.dialect == "postgres":
        return PooledPostgresEngine(config=postgres_config(settings.database_url), pool_size=settings.pool_size)
    return EmbeddedSQLiteEngine(path=sqlite_path(settings.database_url))


def all_tables() -> list[type[Table]]:
    """Every table of every area (the Piccolo apps `gateway.components` knows)."""
    import importlib

    from gateway.components import piccolo_app_names

    return [table for app in piccolo_app_names() for table in importlib.import_module(app).APP_CONFIG.table_classes]


class Database:
    """The engine every table is bound to, plus the few dialect-specific statements."""

    def __init__(self, engine: AnyEngine) -> None:
        self.engine = engine
        self.dialect: Dialect = "postgres" if isinstance(engine, PooledPostgresEngine) else "sqlite"

    def bind(self, tables: Iterable[type[Table]] | None = None) -> None:
        for table in tables if tables is not None else all_tables():
            table._meta.db = self.engine

    def transaction(self) -> Any:
        """A write transaction (IMMEDIATE on SQLite, so concurrent writers queue, not fail)."""
        return self.engine.transaction()

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        """Raw SQL with `?` placeholders, in the current transaction if there is one."""
        return await self.engine.run_sql(sql, args)

    def fetch_values(self, sql: str, *args: Any) -> Awaitable[Sequence[Sequence[Any]]]:
        """Like `fetch`, but each row a sequence of values in the order selected, as the driver
        gives them (on SQLite outside a transaction: timestamps as ISO text). For hot reads that
        convert a row straight into a msgspec struct (`gateway.records.get_one_as`). Awaited by
        the caller: the engine's coroutine itself, without a frame of its own here."""
        return self.engine.run_values(sql, args)

    async def execute_many(self, sql: str, rows: list[tuple[Any, ...]] | list[list[Any]]) -> None:
        """One statement (`?` placeholders) for each row; atomic on its own or part of the
        current transaction."""
        if rows:
            await self.engine.run_many(sql, rows)

    async def write(self, sql: str, *args: Any) -> None:
        """A write whose result nobody reads (an INSERT, say; no RETURNING), in the current
        transaction if there is one.

        On PostgreSQL, inside a transaction, it is queued and sent with the writes queued after
        it as one statement (data-modifying CTEs), one round trip, before the transaction's next
        statement, savepoint or COMMIT: an order, its fulfilment orders, money entries, events
        and idempotency record were six. So the writes queued together must not touch the same
        rows, and an error one of them raises surfaces there, not here. SQLite runs it now (a
        statement costs no round trip there)."""
        if self.dialect == "postgres":
            await self.engine.run_writes(sql, [args])  # type: ignore[union-attr]
        else:
            await self.engine.run_sql(sql, args)

    async def write_many(self, sql: str, rows: list[tuple[Any, ...]] | list[list[Any]]) -> None:
        """`write` once for each row (an `execute_many` whose rows may wait for the next flush)."""
        if not rows:
            return
        if self.dialect == "postgres":
            await self.engine.run_writes(sql, [tuple(row) for row in rows])  # type: ignore[union-attr]
        else:
            await self.engine.run_many(sql, rows)

    async def close(self) -> None:
        await self.engine.close()

    # -- coordination between processes ---------------------------------------------------

    async def try_transaction_lock(self, name: str) -> bool:
        """Inside a transaction: take a lock on `name` held until that transaction ends, or
        return False at once when another live transaction holds it. PostgreSQL: an advisory
        transaction lock (gone with its session, so a killed process never leaves one behind).
        SQLite: the transaction already holds the database's only write lock."""
        if self.dialect == "sqlite":
            return True
        rows = await self.fetch("SELECT pg_try_advisory_xact_lock(?) AS locked", _lock_key(name))
        return bool(rows[0]["locked"])

    async def claim(self, lock: str, table: str, row: dict[str, Any], key: str) -> bool | None:
        """Inside a transaction: take the transaction lock `lock` (as `try_transaction_lock`) and
        insert `row` into `table` unless a row with the same `key` (a unique column) is there.

        None: another live transaction holds the lock, nothing written. True: the row is this
        transaction's. False: a committed row was there. The unique index decides (`ON CONFLICT
        DO NOTHING`), never a cached plan: a lookup prepared while the table was small scanned
        the whole table for as long as the connection lived (PostgreSQL keeps a generic plan,
        and without autovacuum nothing tells it the table grew). On PostgreSQL the lock and
        the insert are one statement; the insert is left out when the lock is not taken, so it
        never waits for the other transaction's row. `None` values are left to the defaults.
        """
        columns = [column for column, value in row.items() if value is not None]
        values = [row[column] for column in columns]
        if self.dialect == "sqlite":  # the transaction holds the database's only write lock
            inserted = await self.fetch(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)}) "
                f"ON CONFLICT ({key}) DO NOTHING RETURNING 1 AS inserted",
                *values,
            )
            return bool(inserted)
        typed = ", ".join(f"?::{_pg_type(value)}" for value in values)
        rows = await self.fetch(
            "WITH lock AS MATERIALIZED (SELECT pg_try_advisory_xact_lock(?) AS locked), "
            f"inserted AS (INSERT INTO {table} ({', '.join(columns)}) SELECT {typed} FROM lock WHERE locked "
            f"ON CONFLICT ({key}) DO NOTHING RETURNING 1) "
            "SELECT locked, EXISTS (SELECT 1 FROM inserted) AS inserted FROM lock",
            _lock_key(lock),
            *values,
        )
        if not rows[0]["locked"]:
            return None
        return bool(rows[0]["inserted"])

    @contextlib.asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[None]:
        """Hold the lock `name` across processes for the block, waiting for it (migrations).

        PostgreSQL: a session advisory lock on a connection of its own, outside the pool, so the
        block's own statements are free to use the pool. SQLite: an `flock` on a file beside the
        database (a memory database is private to its process: an asyncio lock is enough).
        """
        if isinstance(self.engine, PooledPostgresEngine):
            import asyncpg

            connection = await asyncpg.connect(**self.engine.config)
            try:
                await connection.execute("SELECT pg_advisory_lock($1)", _lock_key(name))
                yield
            finally:
                await connection.close()  # ends the session: the lock goes with it
            return
        path = str(self.engine.connection_kwargs.get("database", ""))
        if not path or path == ":memory:" or path.startswith("file::memory:"):
            async with _local_lock(name):
                yield
            return
        import fcntl

        with open(f"{path}.{name}.lock", "a+b") as handle:  # noqa: ASYNC230 - a local lock file, opened once
            await asyncio.to_thread(fcntl.flock, handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    # -- engine-specific expressions ------------------------------------------------------

    @property
    def event_position_sql(self) -> str:
        """The position an event takes in the feed, as an SQL expression.

        SQLite serialises writers, so the next integer is also commit order. On PostgreSQL
        concurrent transactions commit out of order, so an event is positioned by its
        transaction id and the feed stops below the oldest transaction still running
        (`feed_horizon_sql`): a reader never pages past an event that is yet to commit.
        """
        if self.dialect == "postgres":
            return "pg_current_xact_id()::text::bigint"
        return "(SELECT COALESCE(MAX(position), 0) + 1 FROM events)"

    @property
    def lock_rows_sql(self) -> str:
        """Appended to a SELECT whose rows the transaction will update. SQLite's BEGIN IMMEDIATE
        already holds the database's write lock; PostgreSQL locks the rows themselves."""
        return " FOR UPDATE" if self.dialect == "postgres" else ""

    def pairs_sql(self, table: str, first: str, second: str, count: int) -> tuple[str, str]:
        """(FROM clause, WHERE condition) selecting the rows of `table` whose (`first`, `second`)
        is one of `count` pairs, passed as the statement's first `2 * count` parameters.

        The engines want opposite forms (measured at 50,000 rows, 500 pairs): SQLite's planner
        answers `(a, b) IN (VALUES …)` from the tenant index, scanning every tenant row for each
        statement, and a join to the VALUES list probes the unique index instead (7x faster);
        PostgreSQL hashes the whole table for the join and probes the index for the `IN` (5x
        faster the other way round)."""
        values = ", ".join("(?, ?)" for _ in range(count))
        if self.dialect == "postgres":
            return table, f"({table}.{first}, {table}.{second}) IN (VALUES {values})"
        joined = (
            f"(VALUES {values}) AS wanted JOIN {table} "
            f"ON {table}.{first} = wanted.column1 AND {table}.{second} = wanted.column2"
        )
        return joined, "1 = 1"

    def filter_only_sql(self, expression: str) -> str:
        """`expression` as a term that filters but must not choose the index. SQLite has no
        statistics (the gateway never runs ANALYZE), so its planner prefers the index that
        matches more equality terms, `(tenant_id, sku)`, and reads every location stocking a sku
        instead of probing `(location_id, sku)` for the few candidates (measured: 2x at 200
        locations, and it grows with the tenant). A unary `+` is SQLite's documented way to take
        a term out of index selection; PostgreSQL plans from statistics and has no such `+`."""
        return expression if self.dialect == "postgres" else f"+{expression}"

    @property
    def skip_locked_sql(self) -> str:
        """Appended to a SELECT that claims rows for this process: rows another transaction has
        locked are passed over, not waited for (a queue shared by many workers). SQLite has one
        writer at a time, so there is nothing to skip."""
        return " FOR UPDATE SKIP LOCKED" if self.dialect == "postgres" else ""

    def any_of_sql(self, expression: str) -> str:
        """`expression` equals one of the values of one parameter (pass `values_of(...)`, text
        values): one statement text and one round trip whatever the number of values, so
        PostgreSQL plans it once (an array) and SQLite reads the list as JSON (`json_each`).

        On PostgreSQL the array comes through a scalar subquery: a plan made for the array's
        actual length differs from the generic one, so PostgreSQL re-planned such a statement
        on every execution (0.4 ms for the routing stock read); behind the subquery the length
        is unknown to both, and the generic plan is kept."""
        if self.dialect == "postgres":
            return f"{expression} = ANY((SELECT ?::text[])::text[])"
        return f"{expression} IN (SELECT value FROM json_each(?))"

    def values_of(self, values: Iterable[str]) -> Any:
        """The parameter for `any_of_sql`: a list for asyncpg, JSON text for SQLite."""
        if self.dialect == "postgres":
            return list(values)
        return msgspec.json.encode(list(values)).decode()

    @property
    def feed_horizon_sql(self) -> str | None:
        if self.dialect == "postgres":
            return "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
        return None


def is_unavailable(error: BaseException) -> bool:
    """True when `error` says the database cannot be reached or is going away (connection
    refused or lost, server shutting down or not accepting connections, pool or lock waits that
    timed out): the request may succeed later, so it is a 503, not a 500."""
    import sqlite3

    import asyncpg

    if isinstance(error, sqlite3.OperationalError):
        message = str(error)
        return "database is locked" in message or "database is busy" in message or "unable to open" in message
    if isinstance(
        error,
        asyncpg.PostgresConnectionError  # class 08
        | asyncpg.exceptions.OperatorInterventionError  # class 57: admin shutdown, crash, cannot connect now
        | asyncpg.exceptions.InsufficientResourcesError  # class 53: too many connections
        | asyncpg.InterfaceError  # "connection is closed", released mid-operation
        | asyncpg.exceptions._base.InternalClientError  # a connection the server dropped mid-query
        | ConnectionError
        | TimeoutError,
    ):
        return True
    if isinstance(error, asyncpg.exceptions.ObjectNotInPrerequisiteStateError):  # 55000 at connect
        return "not currently accepting connections" in str(error)
    return isinstance(error, OSError) and error.errno is not None


def _pg_type(value: Any) -> str:
    """The PostgreSQL type a Python value is sent as where no column gives it one."""
    from datetime import datetime

    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "bigint"
    if isinstance(value, float):
        return "double precision"
    if isinstance(value, datetime):
        return "timestamptz"
    return "text"


def _lock_key(name: str) -> int:
    """A lock name as PostgreSQL's signed 64-bit advisory lock key."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


_local_locks: dict[str, asyncio.Lock] = {}


def _local_lock(name: str) -> asyncio.Lock:
    return _local_locks.setdefault(name, asyncio.Lock())


def process_id() -> str:
    """Who holds a lease or claim: host and pid, readable in the tables that record it."""
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


_default: Database | None = None


def use(database: Database) -> None:
    """Make `database` the one `db()` returns (the app factory and the CLI call this)."""
    global _default
    _default = database
    database.bind()


def current_engine() -> AnyEngine | None:
    return _default.engine if _default is not None else None


def db() -> Database:
    if _default is None:
        raise RuntimeError("no database configured: call gateway.storage.use() first")
    return _default


def is_unique_violation(error: BaseException) -> bool:
    """A UNIQUE index refused a row (another transaction took the value first), on either engine."""
    import sqlite3

    import asyncpg

    if isinstance(error, sqlite3.IntegrityError):
        return "UNIQUE" in str(error)
    return isinstance(error, asyncpg.UniqueViolationError)
