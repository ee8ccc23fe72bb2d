"""The one hook through which fulfilment tells the order side what happened to a share.

Fulfilment owns the state machine of fulfilment orders; the order they belong to, and the
choice of where a rejected share goes next, are dispatch's (`channels.orders.dispatch`). So
that suppliers/ never imports channels/ (and dispatch never reaches into fulfilment's
internals), the order side registers a `Dispatcher` here when its package is imported.
"""

from __future__ import annotations

from typing import Any, Protocol


class Dispatcher(Protocol):
    async def settle(self, tenant_id: str, order_id: str) -> None:
        """A share of the order moved (in the caller's transaction): the order follows."""

    async def reroute(
        self, tenant_id: str, fulfilment_id: str, reason: str, actor: str, scope: tuple[str, list[Any]]
    ) -> list[dict[str, Any]]:
        """The share is rejected (by its supplier, or its acceptance deadline passed): reject it
        and send its lines elsewhere, in one transaction. The new fulfilment orders, or none."""


_dispatcher: Dispatcher | None = None


def register(dispatcher: Dispatcher) -> None:
    global _dispatcher
    _dispatcher = dispatcher


def dispatcher() -> Dispatcher:
    if _dispatcher is None:
        raise RuntimeError("no order dispatcher registered: import channels (channels.orders) first")
    return _dispatcher
