"""Demo webhook endpoints (called by gateway.demo last): one for the operator hearing every
event, one for the demo channel hearing its orders. Both point at a placeholder URL and are
disabled: point one at your receiver (`PATCH`), enable it, and `…/ping` it."""

from __future__ import annotations

from typing import Any

from gateway.tenancy.principal import Principal
from gateway.tenancy.schemas import ChannelOwner
from gateway.webhooks import services
from gateway.webhooks.schemas import EndpointCreate

PLACEHOLDER = "https://hooks.example.com/gateway"


async def seed(operator: Principal, world: dict[str, Any]) -> None:
    made: list[dict[str, Any]] = world.setdefault("webhook_endpoints", [])
    bodies = [EndpointCreate(url=PLACEHOLDER, events=["*"], description="Everything (demo; disabled)")]
    if world.get("channel_id"):
        bodies.append(
            EndpointCreate(
                url=PLACEHOLDER + "/orders",
                events=["order.*", "fulfilment_order.*"],
                description="The demo channel's orders (demo; disabled)",
                owner=ChannelOwner(id=world["channel_id"]),
            )
        )
    for body in bodies:
        created = await services.create(operator, body)
        await services.disable(operator, created.id, None)
        made.append({"id": created.id, "url": created.url, "events": created.events, "secret": created.secret})
