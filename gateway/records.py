"""Tenant-scoped reads and versioned writes shared by every resource table.

Every statement here filters by `tenant_id` first: an id from another tenant finds nothing,
and the caller answers exactly as for an id that never existed. Visibility within a tenant
(a supplier sees only its own rows) is a set of column = value filters.

These are the hottest statements of the API, so they are plain SQL built once per table
rather than Piccolo queries built per request; the tables' Piccolo definitions stay the
schema's source.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec
from piccolo.table import Table

from gateway.clock import utcnow
from gateway.http.problems import conflict, not_found
from gateway.storage import db

Filters = dict[str, Any]
Out = TypeVar("Out", bound=msgspec.Struct)


def json_value(value: Any) -> Any:
    """A JSON column read through raw SQL: text on both engines (already decoded if not)."""
    return msgspec.json.decode(value) if isinstance(value, str | bytes) else value


def timestamp_value(value: datetime | str) -> datetime:
    """A timestamp column read through raw SQL: a datetime, or ISO text on SQLite; always aware (UTC)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@functools.cache
def _columns(table: type[Table]) -> tuple[str, str]:
    names = [column._meta.db_column_name for column in table._meta.columns]
    return table._meta.tablename, ", ".join(names)


def _where(filters: Filters) -> tuple[str, list[Any]]:
    return "".join(f" AND {column} = ?" for column in filters), list(filters.values())


def narrowed(visible: Filters, requested: dict[str, Any]) -> Filters | None:
    """A caller's list filters on top of what it may see; None when they ask for rows outside
    it (a supplier filtering on another supplier's id), so the answer is an empty page.
    Filters only ever narrow: they can never widen what the caller sees."""
    filters = dict(visible)
    for column, value in requested.items():
        if value is None:
            continue
        if filters.get(column, value) != value:
            return None
        filters[column] = value
    return filters


async def insert_row(table: type[Table], row: dict[str, Any]) -> None:
    make: Any = table
    await table.insert(make(**row)).run()


@functools.cache
def _read_plan(
    table: type[Table], out: type[msgspec.Struct], filtered: tuple[str, ...]
) -> tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]]:
    """What `get_one_as` runs, built once per table, struct and filter columns: the SELECT of the
    columns `out` names (as `to_out` conversions do: a column per field's encoded name), in its
    order; those names; and its datetime fields (encoded name, attribute)."""
    columns = {column._meta.db_column_name for column in table._meta.columns}
    info = msgspec.inspect.type_info(out)
    assert isinstance(info, msgspec.inspect.StructType)
    names = tuple(field.encode_name for field in info.fields if field.encode_name in columns)

    def is_stamp(kind: msgspec.inspect.Type) -> bool:
        if isinstance(kind, msgspec.inspect.UnionType):
            return any(is_stamp(member) for member in kind.types)
        return isinstance(kind, msgspec.inspect.DateTimeType)

    stamps = tuple(
        (field.encode_name, field.name)
        for field in info.fields
        if field.encode_name in columns and is_stamp(field.type)
    )
    extra = "".join(f" AND {column} = ?" for column in filtered)
    sql = f"SELECT {', '.join(names)} FROM {table._meta.tablename} WHERE tenant_id = ? AND id = ?{extra}"
    return sql, names, stamps


async def get_one(
    table: type[Table], kind: str, tenant_id: str, ident: str, filters: Filters | None = None
) -> dict[str, Any]:
    name, columns = _columns(table)
    extra, args = _where(filters or {})
    rows = await db().fetch(
        f"SELECT {columns} FROM {name} WHERE tenant_id = ? AND id = ?{extra}", tenant_id, ident, *args
    )
    if not rows:
        raise not_found(kind, ident)
    return rows[0]


async def get_one_as(
    out: type[Out], table: type[Table], kind: str, tenant_id: str, ident: str, filters: Filters | None = None
) -> Out:
    """`get_one` converted into `out`, for reads that answer with the row as it is (an
    authenticated GET of a supplier is the API's hottest read). Only the columns `out` names are
    selected, as plain tuples that msgspec converts in one C call: no row dictionary, no
    per-value converters (on SQLite, timestamps are parsed from their stored ISO text)."""
    filters = filters or {}
    sql, names, stamps = _read_plan(table, out, tuple(filters))
    rows = await db().fetch_values(sql, tenant_id, ident, *filters.values())
    if not rows:
        raise not_found(kind, ident)
    values = dict(zip(names, rows[0], strict=True))
    result = msgspec.convert(values, out)
    for _, attribute in stamps:
        value = getattr(result, attribute)
        if value is not None and value.tzinfo is None:  # stored without an offset: UTC, as everywhere
            for column, _ in stamps:
                if values[column] is not None:
                    values[column] = timestamp_value(values[column])
            return msgspec.convert(values, out)
    return result


async def list_page(
    table: type[Table], tenant_id: str, limit: int, after: str | None, filters: Filters | None = None
) -> list[dict[str, Any]]:
    """Up to `limit + 1` rows in id order after the cursor (see `make_page`)."""
    name, columns = _columns(table)
    extra, args = _where(filters or {})
    if after is not None:
        extra += " AND id > ?"
        args.append(after)
    return await db().fetch(
        f"SELECT {columns} FROM {name} WHERE tenant_id = ?{extra} ORDER BY id LIMIT ?", tenant_id, *args, limit + 1
    )


async def update_versioned(
    table: type[Table],
    kind: str,
    tenant_id: str,
    ident: str,
    version: int | None,
    values: dict[str, Any],
    filters: Filters | None = None,
) -> dict[str, Any]:
    """Apply `values` only if the row is still at `version`; 409 if it moved on, 404 if absent.

    The check and the write are one conditional UPDATE, so two writers racing on the same
    version cannot both win. `version=None` writes unconditionally (for idempotent changes
    such as a status) and still bumps the version.
    """
    name, columns = _columns(table)
    assignments = "".join(f"{column} = ?, " for column in values)
    extra, args = _where(filters or {})
    if version is not None:
        extra += " AND version = ?"
        args.append(version)
    rows = await db().fetch(
        f"UPDATE {name} SET {assignments}version = version + 1, updated_at = ? "
        f"WHERE tenant_id = ? AND id = ?{extra} RETURNING {columns}",
        *values.values(),
        utcnow(),
        tenant_id,
        ident,
        *args,
    )
    if rows:
        return rows[0]
    current = await get_one(table, kind, tenant_id, ident, filters)  # 404 when it is not there at all
    raise conflict(
        f"{kind} {ident} is at version {current['version']}, not {version}: read it again and retry",
        slug="version-conflict",
    )
