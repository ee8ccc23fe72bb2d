"""The embedded SQLite engine: long-lived connections, WAL, IMMEDIATE writes.

Piccolo's stock `SQLiteEngine` opens a new aiosqlite connection (and thread) for every
statement and begins transactions DEFERRED; FIELD-NOTES measured it ~100x slower than
sqlite3 and failing under concurrent read-then-write. This engine keeps two sqlite3
connections per event loop and runs statements inline on the loop thread (a WAL read or
an indexed write takes microseconds; a thread hop costs more than the statement):

- a *reader* for autocommit SELECTs, which in WAL never wait for writers;
- a *writer* for everything else, guarded by an asyncio lock so that one coroutine's
  transaction never interleaves with another's statements.

Write transactions begin IMMEDIATE. The busy timeout is zero: when another *process*
holds the write lock, we back off with `asyncio.sleep` instead of blocking the loop.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import weakref
from typing import Any

from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory
from piccolo.querystring import QueryString

#: how long a statement may wait for another process's write lock before failing
BUSY_DEADLINE_SECONDS = 30.0


class _LoopConnections:
    __slots__ = ("lock", "reader", "writer")

    def __init__(self, reader: sqlite3.Connection, writer: sqlite3.Connection) -> None:
        self.reader = reader
        self.writer = writer
        self.lock = asyncio.Lock()


class _AsyncFacade:
    """The slice of aiosqlite's Connection API that Piccolo's savepoints call."""

    __slots__ = ("_conn", "_engine")

    def __init__(self, engine: EmbeddedSQLiteEngine, conn: sqlite3.Connection) -> None:
        self._engine = engine
        self._conn = conn

    async def execute(self, sql: str, args: Any = ()) -> list[dict[str, Any]]:
        return await self._engine._execute(self._conn, sql, list(args))


def _is_locked(error: sqlite3.OperationalError) -> bool:
    message = str(error)
    return "database is locked" in message or "database is busy" in message


async def _leave_savepoint(savepoint: Any, exception: BaseException | None) -> None:
    if exception is not None:
        await savepoint.rollback_to()
    await savepoint.release()


class EmbeddedTransaction(SQLiteTransaction):
    """A transaction on the loop's writer connection, held under its lock."""

    _nested: Any = None

    async def __aenter__(self) -> EmbeddedTransaction:
        if self._parent is not None:
            # a nested block is a savepoint: its failure undoes its own writes, not the outer ones
            self._nested = await self._parent.savepoint()
            return self._parent  # type: ignore[return-value]
        engine: EmbeddedSQLiteEngine = self.engine  # type: ignore[assignment]
        conns = engine._connections()
        await conns.lock.acquire()
        try:
            self.connection = _AsyncFacade(engine, conns.writer)
            await engine._execute(conns.writer, f"BEGIN {self.transaction_type.value}", [])
        except BaseException:
            conns.lock.release()
            raise
        self.context = engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        if self._parent is not None:
            await _leave_savepoint(self._nested, exception)
            return exception is None
        engine: EmbeddedSQLiteEngine = self.engine  # type: ignore[assignment]
        conns = engine._connections()
        try:
            if exception is not None:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                try:
                    await self.commit()
                except BaseException:
                    await self.rollback()
                    raise
        finally:
            engine.current_transaction.reset(self.context)
            conns.lock.release()
        return exception is None


class EmbeddedSQLiteEngine(SQLiteEngine):
    def __init__(self, path: str, **connection_kwargs: Any) -> None:
        super().__init__(path=path, **connection_kwargs)
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopConnections] = (
            weakref.WeakKeyDictionary()
        )

    # -- connections -------------------------------------------------------------------

    def open_connection(self) -> sqlite3.Connection:
        conn = sqlite3.connect(**self.connection_kwargs, check_same_thread=False)
        conn.row_factory = dict_factory
        conn.execute("PRAGMA busy_timeout = 5000")  # only while setting up
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 0")
        return conn

    def _connections(self) -> _LoopConnections:
        loop = asyncio.get_running_loop()
        conns = self._by_loop.get(loop)
        if conns is None:
            conns = _LoopConnections(self.open_connection(), self.open_connection())
            self._by_loop[loop] = conns
        return conns

    async def close(self) -> None:
        """Close this loop's connections (the app's shutdown hook calls it)."""
        conns = self._by_loop.pop(asyncio.get_running_loop(), None)
        if conns is not None:
            conns.reader.close()
            conns.writer.close()

    async def get_connection(self) -> Any:  # Piccolo's batch() and friends
        return _AsyncFacade(self, self._connections().reader)

    # -- execution ---------------------------------------------------------------------

    async def _execute(self, conn: sqlite3.Connection, sql: str, args: list[Any]) -> list[dict[str, Any]]:
        deadline = 0.0
        delay = 0.0005
        while True:
            try:
                return conn.execute(sql, args).fetchall()
            except sqlite3.OperationalError as error:
                if not _is_locked(error) or (conn.in_transaction and not sql.startswith("BEGIN")):
                    raise
                now = time.monotonic()
                if not deadline:
                    deadline = now + BUSY_DEADLINE_SECONDS
                elif now > deadline:
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.02)

    async def _run(self, sql: str, args: list[Any]) -> list[dict[str, Any]]:
        transaction = self.current_transaction.get()
        if transaction is not None:
            return await self._execute(transaction.connection._conn, sql, args)
        conns = self._connections()
        if sql.lstrip()[:6].upper() == "SELECT":
            return await self._execute(conns.reader, sql, args)
        async with conns.lock:
            return await self._execute(conns.writer, sql, args)

    async def run_querystring(self, querystring: QueryString, in_pool: bool = False) -> Any:
        query, args = querystring.compile_string(engine_type=self.engine_type)
        if self.log_queries:
            self.print_query(query_id=self.get_query_id(), query=str(querystring))
        return await self._run(query, list(args))

    async def run_ddl(self, ddl: str, in_pool: bool = False) -> Any:
        if self.log_queries:
            self.print_query(query_id=self.get_query_id(), query=ddl)
        return await self._run(ddl, [])

    async def run_sql(self, sql: str, args: list[Any] | tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """Raw SQL with `?` placeholders; the storage layer's hot paths use it."""
        return await self._run(sql, list(args))

    async def run_many(self, sql: str, rows: list[tuple[Any, ...]] | list[list[Any]]) -> None:
        """One statement for many rows (batch writes), in the current transaction if any."""
        transaction = self.current_transaction.get()
        if transaction is not None:
            transaction.connection._conn.executemany(sql, rows)
            return
        conns = self._connections()
        async with conns.lock:
            await self._execute(conns.writer, "BEGIN IMMEDIATE", [])
            try:
                conns.writer.executemany(sql, rows)
            except BaseException:
                conns.writer.execute("ROLLBACK")
                raise
            conns.writer.execute("COMMIT")

    def transaction(  # type: ignore[override]
        self,
        transaction_type: TransactionType = TransactionType.immediate,
        allow_nested: bool = True,
    ) -> EmbeddedTransaction:
        return EmbeddedTransaction(engine=self, transaction_type=transaction_type, allow_nested=allow_nested)
