"""Cursor pagination (DESIGN §4): `?limit=1..200&after=<id>` → `{data, has_more, next_cursor}`.

Every list is ordered by id, and ids sort by creation time, so the cursor is simply the
last id of the page: stable under inserts, no offsets to drift.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

import msgspec
from litestar.params import QueryParameter

T = TypeVar("T")
P = TypeVar("P", bound="Page[Any]")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

Limit = Annotated[int, QueryParameter(name="limit", ge=1, le=MAX_LIMIT, description="Page size (1–200).")]


def after_param(prefix: str) -> Any:
    from gateway.ids import pattern

    return Annotated[
        str | None,
        QueryParameter(
            name="after",
            pattern=pattern(prefix),
            description="Return items after this id (the previous page's `next_cursor`).",
        ),
    ]


class Page(msgspec.Struct, Generic[T]):
    data: list[T]
    has_more: bool
    next_cursor: str | None


def make_page(
    page_type: type[P], rows: Sequence[dict[str, Any]], limit: int, convert: Callable[[dict[str, Any]], Any]
) -> P:
    """`rows` were fetched with `limit + 1`: the extra one only says that more exist."""
    has_more = len(rows) > limit
    items = [convert(row) for row in rows[:limit]]
    return page_type(data=items, has_more=has_more, next_cursor=rows[limit - 1]["id"] if has_more else None)
