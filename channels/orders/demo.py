"""Demo orders: a quote held open, an order delivered, one waiting for its supplier and a
pickup at the pickup point, so every part of fulfilment has something to show."""

from __future__ import annotations

from typing import Any

from channels.orders import services
from channels.orders.schemas import Customer, Destination, LineIn, OrderCreate, OrderOut, QuoteCreate
from gateway.http.problems import ProblemError
from gateway.tenancy.principal import Principal
from suppliers.fulfilment import services as fulfilment

#: a flat by the lake, a few minutes from several demo stores
HOME = Destination(lat=30.2600, lng=120.1600)


async def seed(operator: Principal, world: dict[str, Any]) -> None:
    channel_id = world["channel_id"]
    skus = [listing["sku"] for listing in world.get("listings", [])]
    made: dict[str, Any] = world.setdefault("orders", {})
    placed: list[OrderOut] = []
    for sku in skus:
        try:
            order = await services.place(
                operator,
                OrderCreate(
                    channel_id=channel_id,
                    lines=[LineIn(sku=sku, qty=1)],
                    destination=HOME,
                    customer=Customer(name="Wang Fang", phone="+86 139 0000 0000", address="12 Beishan Road"),
                    reference=f"DEMO-{len(placed) + 1}",
                ),
                None,
            )
        except ProblemError:  # not stocked near home: try the next sku
            continue
        placed.append(order)
        if len(placed) == 2:
            break
    if len(placed) > 1:  # the last one travels all the way to the door; the first waits for its supplier
        ful = placed[-1].fulfilment_orders[0].id
        for action in ("accept", "pick", "ship", "deliver"):
            await fulfilment.act(operator, ful, action)
    made["placed"] = [order.id for order in placed]

    point = next((loc["id"] for loc in world.get("locations", []) if loc.get("kind") == "pickup_point"), None)
    if point is not None:
        for sku in skus:
            try:
                pickup = await services.place(
                    operator,
                    OrderCreate(
                        channel_id=channel_id, lines=[LineIn(sku=sku, qty=1)], mode="pickup", pickup_point_id=point
                    ),
                    None,
                )
            except ProblemError:
                continue
            made["pickup"] = pickup.id
            break
    for sku in skus:
        try:
            quote = await services.create_quote(
                operator, QuoteCreate(channel_id=channel_id, lines=[LineIn(sku=sku, qty=1)], destination=HOME)
            )
        except ProblemError:
            continue
        made["quote"] = quote.id
        world["quote_sku"] = sku
        break
