"""Tenant-scoped reads and versioned writes shared by every resource table.

Every query here filters by `tenant_id` first: an id from another tenant finds nothing,
and the caller answers exactly as for an id that never existed.
"""

from __future__ import annotations

from typing import Any

from piccolo.columns import Column
from piccolo.columns.combination import And
from piccolo.table import Table

from gateway.clock import utcnow
from gateway.http.problems import conflict, not_found


def _scoped(table: type[Table], tenant_id: str, extra: list[Any]) -> Any:
    condition: Any = table._meta.get_column_by_name("tenant_id") == tenant_id
    for clause in extra:
        condition = And(condition, clause)
    return condition


async def insert_row(table: type[Table], row: dict[str, Any]) -> None:
    make: Any = table
    await table.insert(make(**row)).run()


async def get_one(
    table: type[Table], kind: str, tenant_id: str, ident: str, where: list[Any] | None = None
) -> dict[str, Any]:
    rows = (
        await table.select()
        .where(_scoped(table, tenant_id, [table._meta.primary_key == ident, *(where or [])]))
        .limit(1)
        .run()
    )
    if not rows:
        raise not_found(kind, ident)
    return rows[0]  # type: ignore[no-any-return]


async def list_page(
    table: type[Table], tenant_id: str, limit: int, after: str | None, where: list[Any] | None = None
) -> list[dict[str, Any]]:
    """Up to `limit + 1` rows in id order after the cursor (see `make_page`)."""
    clauses = list(where or [])
    if after is not None:
        clauses.append(table._meta.primary_key > after)
    return await (  # type: ignore[no-any-return]
        table.select()
        .where(_scoped(table, tenant_id, clauses))
        .order_by(table._meta.primary_key)
        .limit(limit + 1)
        .run()
    )


async def update_versioned(
    table: type[Table],
    kind: str,
    tenant_id: str,
    ident: str,
    version: int | None,
    values: dict[Any, Any],
    where: list[Any] | None = None,
) -> dict[str, Any]:
    """Apply `values` only if the row is still at `version`; 409 if it moved on, 404 if absent.

    The check and the write are one conditional UPDATE, so two writers racing on the same
    version cannot both win. `version=None` writes unconditionally (for idempotent changes
    such as a status) and still bumps the version.
    """
    version_col: Any = table._meta.get_column_by_name("version")
    updates: dict[Column | str, Any] = {
        **values,
        version_col: version_col + 1,
        table._meta.get_column_by_name("updated_at"): utcnow(),
    }
    scope = [table._meta.primary_key == ident, *(where or [])]
    if version is not None:
        scope.append(version_col == version)
    rows = await table.update(updates).where(_scoped(table, tenant_id, scope)).returning(*table._meta.columns).run()
    if rows:
        return rows[0]  # type: ignore[no-any-return]
    current = await get_one(table, kind, tenant_id, ident, where)  # 404 when it is not there at all
    raise conflict(
        f"{kind} {ident} is at version {current['version']}, not {version}: read it again and retry",
        slug="version-conflict",
    )
