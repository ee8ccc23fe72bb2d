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

**Group commit.** Writers of one loop already take the writer connection one at a time. When a
transaction ends it does not COMMIT: it RELEASEs its savepoint and leaves the SQLite
transaction open, and the next writer continues it under a savepoint of its own (a failure
rolls back to it, undoing that transaction's writes only). The group COMMITs once
`GROUP_WINDOW_SECONDS` have passed since its first transaction ended, or when `GROUP_LIMIT`
transactions are in, or when a writer outside transactions needs the connection. Every member
waits for that COMMIT before its `async with` block returns, so nothing is answered before it
is durable, and a retry after a lost race reads what the group wrote. Statements run inline,
so a transaction seldom yields and writers rarely queue: without the window each would commit
alone. One COMMIT (and its WAL writes) then serves the placements of a few milliseconds.

**Checkpoints off the loop.** SQLite's automatic checkpoint runs inside the COMMIT that crosses
1,000 WAL pages: it copies the WAL into the database file and syncs both, tens of milliseconds
during which this process's loop serves nobody (measured: it set the p99 of order placement).
Our connections turn it off, and one thread per process and database checkpoints instead
(`PRAGMA wal_checkpoint(PASSIVE)` on a connection of its own, which never waits for writers or
readers; sqlite3 releases the GIL while it works). A checkpoint another process is running
makes ours a no-op until the next tick.

SQLite must not be open in a process when it forks (the child inherits its locks' bookkeeping
without the locks: its own connections then hang or read a "malformed" file). `gateway serve`
migrates, closes the database, then granian forks the workers: so closing the last loop's
connections also stops the checkpointer's thread and waits for its connection to close (CI once
saw a worker that never became healthy when the thread outlived the close).
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Sequence
from typing import Any

from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory
from piccolo.querystring import QueryString

#: how long a statement may wait for another process's write lock before failing
BUSY_DEADLINE_SECONDS = 30.0


#: transactions that may share one COMMIT
GROUP_LIMIT = 64
#: how long a group stays open for more writers after its first transaction ended
GROUP_WINDOW_SECONDS = 0.002
#: write transactions ended, and the COMMITs that made them durable (their ratio is the mean group)
GROUP_STATS = {"transactions": 0, "commits": 0}
#: commits of groups whose queued writer was cancelled (kept referenced until done)
_finishers: set[asyncio.Future[None]] = set()
#: how often the checkpointer copies the WAL into the database file
CHECKPOINT_INTERVAL_SECONDS = 0.25


def open_connection(connection_kwargs: dict[str, Any]) -> sqlite3.Connection:
    conn = sqlite3.connect(**connection_kwargs, check_same_thread=False)
    conn.row_factory = dict_factory
    conn.execute("PRAGMA busy_timeout = 5000")  # only while setting up
    _ensure_wal(conn)
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA wal_autocheckpoint = 0")  # the checkpointer's thread does it
    conn.execute("PRAGMA busy_timeout = 0")
    return conn


def _ensure_wal(conn: sqlite3.Connection) -> None:
    """WAL once per database file (the mode is stored in it). Setting it on a new connection
    reads the file, then upgrades to a write: when another connection (another process, or a
    checkpoint) writes in between, SQLite answers "locked" at once, without the busy handler, so
    the mode is read first and set only when it is not WAL yet, retrying a lost race."""
    deadline = time.monotonic() + BUSY_DEADLINE_SECONDS
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()["journal_mode"] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if not _is_locked(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class _Checkpointer:
    """The thread that checkpoints the WAL for one engine in this process (see the module doc)."""

    def __init__(self, connection_kwargs: dict[str, Any]) -> None:
        self.pid = os.getpid()
        self.stopped = threading.Event()
        self.thread = threading.Thread(
            target=self._run, args=(connection_kwargs, self.stopped), name="sqlite-checkpoint", daemon=True
        )
        self.thread.start()

    def alive(self) -> bool:
        # a forked worker inherits this object, not its thread
        return self.pid == os.getpid() and self.thread.is_alive()

    def stop(self) -> None:
        """Stop the thread and wait for it (its last act, closing its connection, checkpoints
        what is left): after this the process may fork."""
        self.stopped.set()
        if self.alive() and self.thread is not threading.current_thread():
            self.thread.join()

    @staticmethod
    def _run(connection_kwargs: dict[str, Any], stopped: threading.Event) -> None:
        conn = open_connection(connection_kwargs)
        wal = f"{connection_kwargs.get('database')}-wal"
        seen = None
        try:
            while not stopped.wait(CHECKPOINT_INTERVAL_SECONDS):
                try:
                    changed = os.stat(wal).st_mtime_ns
                except OSError:
                    changed = None  # no WAL file (yet, or in memory): try anyway
                if changed is not None and changed == seen:
                    continue  # nothing written since the last checkpoint: take no lock at all
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    seen = changed
                except sqlite3.OperationalError:
                    pass  # busy: another process is checkpointing; the next tick tries again
        finally:
            conn.close()


class _Group:
    """An open SQLite transaction shared by the write transactions queued behind each other."""

    __slots__ = ("closing", "committed", "members")

    def __init__(self) -> None:
        self.members = 0
        self.closing = False
        self.committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()


class _LoopConnections:
    __slots__ = ("group", "lock", "plain", "queued", "reader", "writer")

    def __init__(self, reader: sqlite3.Connection, writer: sqlite3.Connection, plain: sqlite3.Connection) -> None:
        self.reader = reader
        self.writer = writer
        #: a second reader without Piccolo's converters: tuples of the stored values (`run_values`)
        self.plain = plain
        self.lock = asyncio.Lock()
        #: transactions waiting for `lock` (they may join the open group)
        self.queued = 0
        self.group: _Group | None = None

    async def finish_when_free(self, group: _Group | None = None, after: float = 0.0) -> None:
        """COMMIT `group` (or whichever is open) once the connection is free, `after` seconds on."""
        if after:
            await asyncio.sleep(after)
        async with self.lock:
            if group is None or self.group is group:
                self.finish_group()

    def close_later(self, group: _Group) -> None:
        if not group.closing:
            group.closing = True
            task = asyncio.ensure_future(self.finish_when_free(group, GROUP_WINDOW_SECONDS))
            _finishers.add(task)
            task.add_done_callback(_finishers.discard)

    def finish_group(self, error: BaseException | None = None) -> None:
        """COMMIT (or, after `error`, ROLLBACK) the open group; its members learn the outcome.
        The caller holds `lock`."""
        group, self.group = self.group, None
        if group is None:
            return
        try:
            if error is None:
                self.writer.execute("COMMIT")
                GROUP_STATS["commits"] += 1
        except BaseException as failed:
            error = failed
        if error is not None:
            if self.writer.in_transaction:
                self.writer.execute("ROLLBACK")
            group.committed.set_exception(error)
            group.committed.exception()  # retrieved: members that stopped waiting leave no warning
        else:
            group.committed.set_result(None)


class _AsyncFacade:
    """The slice of aiosqlite's Connection API that Piccolo's savepoints call."""

    __slots__ = ("_conn", "_engine")

    def __init__(self, engine: EmbeddedSQLiteEngine, conn: sqlite3.Connection) -> None:
        self._engine = engine
        self._conn = conn

    async def execute(self, sql: str, args: Any = ()) -> list[dict[str, Any]]:
        return await self._engine._execute(self._conn, sql, list(args))


_WRITES = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


@functools.lru_cache(maxsize=512)
def _reads_only(sql: str) -> bool:
    """A statement for the reader connection: a SELECT, or a WITH ... SELECT (the routing stock
    read) naming no write anywhere; on the writer one would first COMMIT the open group."""
    head = sql.lstrip()[:6].upper()
    return head == "SELECT" or (head.startswith("WITH") and _WRITES.search(sql) is None)


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

    _group: _Group | None = None

    async def __aenter__(self) -> EmbeddedTransaction:
        if self._parent is not None:
            # a nested block is a savepoint: its failure undoes its own writes, not the outer ones
            self._nested = await self._parent.savepoint()
            return self._parent  # type: ignore[return-value]
        engine: EmbeddedSQLiteEngine = self.engine  # type: ignore[assignment]
        conns = engine._connections()
        conns.queued += 1
        try:
            await conns.lock.acquire()
        except BaseException:
            # cancelled while queued: a group left open for us must still commit
            conns.queued -= 1
            if conns.group is not None:
                task = asyncio.ensure_future(conns.finish_when_free())
                _finishers.add(task)
                task.add_done_callback(_finishers.discard)
            raise
        conns.queued -= 1
        try:
            self.connection = _AsyncFacade(engine, conns.writer)
            if conns.group is None:
                await engine._execute(conns.writer, f"BEGIN {self.transaction_type.value}", [])
                conns.group = _Group()
            self._group = conns.group
            self._group.members += 1
            # this transaction's own writes, undone alone when it fails
            conns.writer.execute("SAVEPOINT grouped")
        except BaseException as error:
            if conns.group is not None and conns.group.members == 0:
                conns.finish_group(error)
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
        group = self._group
        assert group is not None and conns.group is group
        try:
            try:
                if exception is not None:
                    conns.writer.execute("ROLLBACK TO grouped")
                conns.writer.execute("RELEASE grouped")
            except BaseException as error:  # the connection is in trouble: the whole group fails
                conns.finish_group(error)
                raise
            GROUP_STATS["transactions"] += 1
            if group.members >= GROUP_LIMIT:
                conns.finish_group()
            elif conns.queued == 0:
                conns.close_later(group)
        finally:
            engine.current_transaction.reset(self.context)
            conns.lock.release()
        # nothing is answered before it is durable; a retry reads what the group wrote
        await asyncio.shield(group.committed)
        return exception is None

    async def commit(self) -> None:
        raise NotImplementedError("a grouped transaction commits when its block ends")

    async def rollback(self) -> None:
        raise NotImplementedError("a grouped transaction rolls back by raising out of its block")


class EmbeddedSQLiteEngine(SQLiteEngine):
    def __init__(self, path: str, **connection_kwargs: Any) -> None:
        super().__init__(path=path, **connection_kwargs)
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopConnections] = (
            weakref.WeakKeyDictionary()
        )
        self._checkpointer: _Checkpointer | None = None
        #: the loop asked last, its connections and its thread: a weak-dictionary lookup costs a
        #: weakref per statement, and a process serves from one loop
        self._last: tuple[asyncio.AbstractEventLoop, _LoopConnections, int] | None = None

    # -- connections -------------------------------------------------------------------

    def open_connection(self) -> sqlite3.Connection:
        return open_connection(self.connection_kwargs)

    def open_plain_connection(self) -> sqlite3.Connection:
        """A reader that returns tuples of the values as stored (timestamps as ISO text, no
        Piccolo converters): for hot reads that convert rows straight into msgspec structs."""
        kwargs = {**self.connection_kwargs, "detect_types": 0}
        conn = sqlite3.connect(**kwargs, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 0")
        return conn

    def _connections(self) -> _LoopConnections:
        last = self._last
        # the loop asked last is still running in this thread: it is the running loop (a thread
        # runs one loop at a time), found without `get_running_loop`, which asks the OS for the
        # process id on every call (Python 3.11)
        if last is not None and last[2] == threading.get_ident() and last[0].is_running():
            return last[1]
        loop = asyncio.get_running_loop()
        conns = self._by_loop.get(loop)
        if conns is None:
            conns = _LoopConnections(self.open_connection(), self.open_connection(), self.open_plain_connection())
            self._by_loop[loop] = conns
            if self._checkpointer is None or not self._checkpointer.alive():
                self._checkpointer = _Checkpointer(self.connection_kwargs)
                weakref.finalize(self, self._checkpointer.stopped.set)
        self._last = (loop, conns, threading.get_ident())
        return conns

    async def close(self) -> None:
        """Close this loop's connections (the app's shutdown hook calls it); the last one out
        stops the checkpointer, whose connection, the last to close, checkpoints what is left."""
        loop = asyncio.get_running_loop()
        if self._last is not None and self._last[0] is loop:
            self._last = None
        conns = self._by_loop.pop(loop, None)
        if conns is not None:
            conns.finish_group()  # a group still open commits
            conns.reader.close()
            conns.plain.close()
            conns.writer.close()
        if not self._by_loop and self._checkpointer is not None:
            checkpointer, self._checkpointer = self._checkpointer, None
            checkpointer.stop()  # at shutdown: blocking the loop for one checkpoint is fine

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
        if _reads_only(sql):
            return await self._execute(conns.reader, sql, args)
        async with conns.lock:
            conns.finish_group()  # a group left open for queued writers commits first
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

    async def run_values(self, sql: str, args: list[Any] | tuple[Any, ...] = ()) -> Sequence[Sequence[Any]]:
        """A SELECT's rows as tuples, without the dictionaries and Piccolo's per-value converters
        (a third of a primary-key read): timestamps come as the ISO text SQLite stores, or as
        datetimes inside a transaction (its connection converts). For callers that convert rows
        into msgspec structs, which parse either."""
        transaction = self.current_transaction.get()
        if transaction is not None:
            cursor = transaction.connection._conn.cursor()
            cursor.row_factory = None
            return cursor.execute(sql, args).fetchall()
        conn = self._connections().plain
        try:
            return conn.execute(sql, args).fetchall()
        except sqlite3.OperationalError:  # another process is recovering the WAL: wait as `_execute` does
            return await self._execute(conn, sql, list(args))  # type: ignore[return-value]

    async def run_many(self, sql: str, rows: list[tuple[Any, ...]] | list[list[Any]]) -> None:
        """One statement for many rows (batch writes), in the current transaction if any."""
        transaction = self.current_transaction.get()
        if transaction is not None:
            transaction.connection._conn.executemany(sql, rows)
            return
        conns = self._connections()
        async with conns.lock:
            conns.finish_group()
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
