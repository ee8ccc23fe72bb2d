"""The storage layer: engine choice, table binding, and the little engine-specific SQL.

Everything that differs between SQLite and PostgreSQL (pragmas, placeholders, the
event-feed horizon) lives under this package, behind `Database` (DESIGN §10).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, urlparse

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
    parsed = urlparse(url)
    return {
        "host": parsed.hostname or "127.0.0.1",
        "port": parsed.port or 5432,
        "user": unquote(parsed.username or "postgres"),
        "password": unquote(parsed.password) if parsed.password else None,
        "database": (parsed.path or "/postgres").lstrip("/") or "postgres",
    }


def make_engine(settings: Settings) -> AnyEngine:
    if settings.dialect == "postgres":
        return PooledPostgresEngine(config=postgres_config(settings.database_url), pool_size=settings.pool_size)
    return EmbeddedSQLiteEngine(path=sqlite_path(settings.database_url))


def all_tables() -> list[type[Table]]:
    """Every table of every domain area (the Piccolo apps listed in `gateway.piccolo_conf`)."""
    import importlib

    from gateway.piccolo_conf import APPS

    return [table for app in APPS for table in importlib.import_module(app).APP_CONFIG.table_classes]


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

    async def execute_many(self, sql: str, rows: list[tuple[Any, ...]] | list[list[Any]]) -> None:
        """One statement (`?` placeholders) for each row; atomic on its own or part of the
        current transaction."""
        if rows:
            await self.engine.run_many(sql, rows)

    async def close(self) -> None:
        await self.engine.close()

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

    @property
    def feed_horizon_sql(self) -> str | None:
        if self.dialect == "postgres":
            return "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
        return None


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
