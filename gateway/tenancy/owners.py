"""The tables of the parties credentials act for, filled in by the domains.

A key, a user or an OAuth client belongs to the operator or to a party (`OwnerType`). The kernel
knows the kinds of party; the domains own their tables and register them here (constructing a
`gateway.parties.Parties` does it), so tenancy and OAuth can check that a party exists and is
active without importing a domain.
"""

from __future__ import annotations

from piccolo.table import Table

_tables: dict[str, type[Table]] = {}


def register(kind: str, table: type[Table]) -> None:
    _tables[kind] = table


def table_of(kind: str) -> type[Table] | None:
    """The table of parties of this kind; None for the operator (or a kind nobody registered)."""
    return _tables.get(kind)


def registered() -> dict[str, str]:
    """kind → table name, of every registered party kind."""
    return {kind: table._meta.tablename for kind, table in _tables.items()}


def active_sql(alias: str) -> str:
    """SQL: the owner of `alias` (a row with tenant_id, owner_type, owner_id) is active: the
    operator always, a party when its row in its table says so."""
    parts = [f"{alias}.owner_type = 'operator'"]
    for i, (kind, table) in enumerate(sorted(registered().items())):
        p = f"{alias}_p{i}"
        parts.append(
            f"EXISTS (SELECT 1 FROM {table} {p} WHERE {alias}.owner_type = '{kind}' AND {p}.id = {alias}.owner_id "
            f"AND {p}.tenant_id = {alias}.tenant_id AND {p}.status = 'active')"
        )
    return "(" + " OR ".join(parts) + ")"
