"""Which event types an endpoint subscribes to, pure: `*` for all, `order.*` for a prefix
(`order.created`, `order.shipped`, …), or an exact type."""

from __future__ import annotations

from collections.abc import Iterable

#: an exact type (`inventory.shortage`), a prefix (`order.*`, `inventory.transfer.*`) or `*`
PATTERN = r"^(\*|[a-z_]+(\.[a-z_]+)*(\.\*)?)$"


def matches(patterns: Iterable[str], event_type: str) -> bool:
    for pattern in patterns:
        if pattern == "*" or pattern == event_type:
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def normalised(patterns: Iterable[str]) -> list[str]:
    """Duplicates dropped, order kept; `*` alone when it is there (it covers everything)."""
    unique = list(dict.fromkeys(patterns))
    return ["*"] if "*" in unique else unique
