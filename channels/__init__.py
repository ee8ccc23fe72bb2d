"""The channel side. Importing it plugs the channel side into the supplier side's hooks, so
that suppliers/ never imports channels/: fulfilment reports to dispatch, and location writes
move routing's revision. (Every process imports it: `gateway.storage.use` loads every
domain's tables, this package's among them.)"""

from __future__ import annotations

from typing import Any

from suppliers.fulfilment import hooks as _fulfilment_hooks
from suppliers.locations import revisions as _location_revisions


class _Dispatcher:
    """`channels.orders.dispatch`, imported when first needed (it imports half the app)."""

    async def settle(self, tenant_id: str, order_id: str) -> None:
        from channels.orders import dispatch

        await dispatch.settle(tenant_id, order_id)

    async def reroute(
        self, tenant_id: str, fulfilment_id: str, reason: str, actor: str, scope: tuple[str, list[Any]]
    ) -> list[dict[str, Any]]:
        from channels.orders import dispatch

        return await dispatch.reroute(tenant_id, fulfilment_id, reason, actor, scope)


async def _bump_revision(tenant_id: str) -> int:
    from channels.routing.directory import bump_revision

    return await bump_revision(tenant_id)


_fulfilment_hooks.register(_Dispatcher())
_location_revisions.register(_bump_revision)
