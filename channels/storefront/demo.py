"""Demo storefront: the demo partner page's keys, and one cart a shopper is holding."""

from __future__ import annotations

from typing import Any

from channels.orders.demo import HOME
from channels.orders.schemas import LineIn
from channels.storefront import services
from channels.storefront.schemas import CartCreate
from gateway.clock import utcnow
from gateway.http.problems import ProblemError
from gateway.ids import new_id
from gateway.settings import Settings
from gateway.storage import db
from gateway.tenancy.principal import Principal


async def seed(operator: Principal, world: dict[str, Any]) -> None:
    """`world` carries the channel's publishable key (whole: the demo page embeds it) and the
    ids of both its keys (gateway.demo)."""
    channel_id = world.get("channel_id")
    if channel_id is None or "publishable_key" not in world:
        return
    await db().fetch(
        "INSERT INTO storefront_demo_shops (id, tenant_id, channel_id, publishable_key, server_key_id, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        new_id("dsh"),
        operator.tenant_id,
        channel_id,
        world["publishable_key"],
        world["server_key_id"],
        utcnow(),
    )
    shopper = Principal(
        tenant_id=operator.tenant_id,
        type="channel",
        owner_id=channel_id,
        key_id=world["publishable_key_id"],
        key_kind="publishable",
    )
    for listing in world.get("listings", []):
        try:
            cart = await services.create_cart(
                shopper,
                CartCreate(lines=[LineIn(sku=listing["sku"], qty=1)], destination=HOME),
                "127.0.0.1",
                Settings(),
            )
        except ProblemError:  # not stocked near home: try the next
            continue
        world.setdefault("carts", []).append(cart.id)
        break
