"""The routing revision every location write must move, in its own transaction.

The channel side's routing index (`channels.routing.directory`) reloads a tenant's locations
when the tenant's revision moves; it registers how to move it here, so that suppliers/ does
not import channels/.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

Bump = Callable[[str], Awaitable[int]]
_bump: Bump | None = None


def register(bump: Bump) -> None:
    global _bump
    _bump = bump


async def next_revision(tenant_id: str) -> int:
    """The tenant's next routing revision (call inside the transaction writing the location)."""
    if _bump is None:
        raise RuntimeError("no routing revision registered: import channels (channels.routing) first")
    return await _bump(tenant_id)
