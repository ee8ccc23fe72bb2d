"""PostgreSQL engine: one asyncpg pool per event loop, created on first use.

Piccolo's `PostgresEngine` keeps a single pool that must be started by hand and is tied
to the loop that started it. Serving, the CLI and the test-suite each run their own
loops, so the pool is made lazily for whichever loop asks.
"""

from __future__ import annotations

import asyncio
import functools
import re
import weakref
from collections.abc import Sequence
from typing import Any, cast

import asyncpg
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.querystring import QueryString

_QMARK = re.compile(r"\?")
#: errors after which a connection is not to be trusted again (the server went away mid-query)
_BROKEN = (asyncpg.exceptions._base.InternalClientError, asyncpg.InterfaceError, ConnectionError, OSError)


@functools.lru_cache(maxsize=512)
def to_numbered(sql: str) -> str:
    """`?` placeholders (the storage layer's one style) to asyncpg's `$1, $2, …`."""
    counter = iter(range(1, 100_000))
    return _QMARK.sub(lambda _: f"${next(counter)}", sql)


async def _release(connection: asyncpg.Connection) -> None:
    """What a connection needs on its way back to the pool. asyncpg's default reset runs a
    query on every release (RESET ALL, UNLISTEN, advisory unlocks) - a round trip per statement
    outside transactions. The gateway keeps no session state, so only an unfinished
    transaction (a cancelled request) needs undoing."""
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


def combined(writes: list[tuple[str, tuple[Any, ...]]]) -> tuple[str, list[Any]]:
    """Writes as one statement: every one but the last a data-modifying CTE (`?` placeholders,
    numbered later in order, so the arguments simply follow each other)."""
    if len(writes) == 1:
        return writes[0][0], list(writes[0][1])
    ctes = ", ".join(f"w{n} AS ({sql})" for n, (sql, _) in enumerate(writes[:-1]))
    return f"WITH {ctes} {writes[-1][0]}", [value for _, args in writes for value in args]


class PooledTransaction(PostgresTransaction):
    """Piccolo's transaction, except that a nested one is a savepoint: a block that fails undoes
    its own writes and leaves the outer transaction usable (the idempotency layer runs a whole
    keyed request in one transaction, and the handlers' own blocks nest inside it).

    It also holds the writes queued by `Database.write` (nobody reads their result) and sends
    them as one statement, one round trip, before whatever comes next on its connection: a
    statement, a savepoint, the COMMIT. A savepoint starts with none queued, so undoing it
    drops exactly the ones queued inside it."""

    _nested: Any = None

    def __init__(self, engine: PostgresEngine, allow_nested: bool = True) -> None:
        super().__init__(engine=engine, allow_nested=allow_nested)
        self.pending: list[tuple[str, tuple[Any, ...]]] = []

    async def flush(self) -> None:
        writes, self.pending = self.pending, []
        while writes:
            # well inside PostgreSQL's 32,767 parameters per statement
            count, size = 0, 0
            while count < len(writes) and (count == 0 or size + len(writes[count][1]) <= 30_000):
                size += len(writes[count][1])
                count += 1
            sql, args = combined(writes[:count])
            writes = writes[count:]
            await self.connection.execute(to_numbered(sql), *args)

    async def __aenter__(self) -> PooledTransaction:
        if self._parent is not None:
            await cast(PooledTransaction, self._parent).flush()
            self._nested = await self._parent.savepoint()
            return self._parent  # type: ignore[return-value]
        await self.engine.ensure_pool()  # type: ignore[attr-defined]
        return await super().__aenter__()  # type: ignore[return-value]

    async def commit(self) -> None:
        await self.flush()
        await super().commit()

    async def rollback(self) -> None:
        self.pending = []
        await super().rollback()

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        if self._parent is not None:
            if exception is not None:
                cast(PooledTransaction, self._parent).pending = []  # queued inside this savepoint: never sent
                await self._nested.rollback_to()
            await self._nested.release()
            return exception is None
        connection = self.connection
        failed: Exception | None = None
        try:
            if exception is None and not self._committed and not self._rolled_back:
                try:
                    await self.flush()
                except Exception as error:  # a queued write was refused: nothing of it all stays
                    failed = error
            if exception is not None or failed is not None:
                self.pending = []
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
        except BaseException:
            connection.terminate()  # a connection that failed mid-transaction is not reused
            raise
        finally:
            self.engine.current_transaction.reset(self.context)
            await self.engine.pool.release(connection)  # type: ignore[union-attr]
        if failed is not None:
            raise failed
        return exception is None


class PooledPostgresEngine(PostgresEngine):
    def __init__(self, config: dict[str, Any], pool_size: int = 10, **kwargs: Any) -> None:
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncpg.Pool] = weakref.WeakKeyDictionary()
        self._pool_size = pool_size
        super().__init__(config=config, **kwargs)

    @property  # type: ignore[override]
    def pool(self) -> asyncpg.Pool | None:
        try:
            return self._pools.get(asyncio.get_running_loop())
        except RuntimeError:
            return None

    @pool.setter
    def pool(self, value: asyncpg.Pool | None) -> None:
        if value is not None:
            self._pools[asyncio.get_running_loop()] = value

    def _transaction(self) -> PooledTransaction | None:
        return cast("PooledTransaction | None", self.current_transaction.get())

    async def ensure_pool(self) -> asyncpg.Pool:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            pool = await asyncpg.create_pool(
                **self.config,
                min_size=1,
                max_size=self._pool_size,
                statement_cache_size=512,
                reset=_release,
            )
            if loop in self._pools:  # another task won the race
                await pool.close()
                return self._pools[loop]
            self._pools[loop] = pool
        return pool

    async def close(self) -> None:
        pool = self._pools.pop(asyncio.get_running_loop(), None)
        if pool is not None:
            await pool.close()

    async def prep_database(self) -> None:  # Piccolo would create extensions we don't use
        return None

    async def get_version(self) -> float:
        rows = await self.run_sql("SHOW server_version")
        major, minor, *_ = (rows[0]["server_version"].split(" ")[0] + ".0").split(".")
        return float(f"{major}.{minor}")

    async def run_querystring(self, querystring: QueryString, in_pool: bool = True) -> Any:
        transaction = self._transaction()
        if transaction is None:
            await self.ensure_pool()
        else:
            await transaction.flush()
        return await super().run_querystring(querystring, in_pool=True)

    async def run_ddl(self, ddl: str, in_pool: bool = True) -> Any:
        if self.current_transaction.get() is None:
            await self.ensure_pool()
        return await super().run_ddl(ddl, in_pool=True)

    async def run_sql(self, sql: str, args: list[Any] | tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """Raw SQL with `?` placeholders; the storage layer's hot paths use it."""
        query = to_numbered(sql)
        transaction = self._transaction()
        if transaction is not None:
            await transaction.flush()
            rows = await transaction.connection.fetch(query, *args)
        else:
            pool = await self.ensure_pool()
            async with pool.acquire() as connection:
                try:
                    rows = await connection.fetch(query, *args)
                except _BROKEN:
                    connection.terminate()  # the pool opens a fresh one instead
                    raise
        return [dict(row) for row in rows]

    async def run_values(self, sql: str, args: list[Any] | tuple[Any, ...] = ()) -> Sequence[Sequence[Any]]:
        """The rows as asyncpg gives them (records: sequences of typed values), not dictionaries."""
        query = to_numbered(sql)
        transaction = self.current_transaction.get()
        if transaction is not None:
            return await transaction.connection.fetch(query, *args)  # type: ignore[no-any-return]
        pool = await self.ensure_pool()
        async with pool.acquire() as connection:
            try:
                return await connection.fetch(query, *args)  # type: ignore[no-any-return]
            except _BROKEN:
                connection.terminate()  # the pool opens a fresh one instead
                raise

    async def run_many(self, sql: str, rows: list[tuple[Any, ...]] | list[list[Any]]) -> None:
        """One statement for many rows (batch writes), in the current transaction if any."""
        query = to_numbered(sql)
        transaction = self._transaction()
        if transaction is not None:
            await transaction.flush()
            await transaction.connection.executemany(query, rows)
            return
        pool = await self.ensure_pool()
        async with pool.acquire() as connection:
            await connection.executemany(query, rows)

    async def run_writes(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """Writes nobody reads back: queued in the current transaction (one round trip for all
        of them, `PooledTransaction.flush`), or run now outside one."""
        transaction = self._transaction()
        if transaction is not None:
            transaction.pending.extend((sql, tuple(row)) for row in rows)
        elif len(rows) == 1:
            await self.run_sql(sql, rows[0])
        else:
            await self.run_many(sql, rows)

    def transaction(self, allow_nested: bool = True) -> PooledTransaction:  # type: ignore[override]
        return PooledTransaction(engine=self, allow_nested=allow_nested)
