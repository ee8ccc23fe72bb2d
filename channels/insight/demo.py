"""Demo history for statements and insight (called by gateway.demo last): a Shanghai central
warehouse serving Hangzhou, and a week of orders with cancellations, returns, a re-route, late
deliveries and refusals, so that statements, attribution, perfect order rates, coverage maps and
replenishment advice all have something to show.

The week is played with `gateway.clock.travel`: each order is placed, accepted, delivered (or
cancelled, returned, rejected) at its own past time, through the same services an order uses
today. Every past order ends finished, so nothing from the past waits on a deadline now.

One SKU carried by the second and third suppliers is sold out in Hangzhou and held only in
Shanghai: orders for it are promised next day, a few are refused, and the advice names the
transfer from Shanghai to the second supplier's forward warehouse.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from channels.orders import services as orders
from channels.orders.schemas import Customer, Destination, LineIn, OrderCreate
from gateway.clock import travel, utcnow
from gateway.http.problems import ProblemError
from gateway.storage import db
from gateway.tenancy.principal import Principal
from suppliers.fulfilment import services as fulfilment
from suppliers.inventory import services as inventory
from suppliers.inventory.schemas import SetItem
from suppliers.locations import services as locations
from suppliers.locations.schemas import Address, LocationCreate

#: the Shanghai central warehouse (Jiading, by the G2 and G15 expressways), reaching Hangzhou
SHANGHAI = (31.3520, 121.2450)
#: where the week's consumers live: around West Lake and out to the new towns
PLACES = [
    (30.2600, 120.1600),
    (30.2745, 120.1550),
    (30.2480, 120.1720),
    (30.2900, 120.1350),
    (30.2300, 120.2050),
    (30.3100, 120.1500),
    (30.2650, 120.0900),
    (30.2150, 120.2150),
]


async def _scarce_sku(world: dict[str, Any]) -> str | None:
    """A SKU the second and third suppliers offer (the first does not), with no units committed
    in Hangzhou: it is the one that runs out there."""
    suppliers = [s["id"] for s in world.get("suppliers", [])]
    if len(suppliers) < 3:
        return None
    offered: dict[str, set[str]] = {}
    for offer in world.get("offers", []):
        offered.setdefault(offer["sku"], set()).add(offer["supplier_id"])
    listed = {listing["sku"] for listing in world.get("listings", [])}
    for sku in sorted(listed, reverse=True):
        if offered.get(sku) == {suppliers[1], suppliers[2]}:
            busy = await db().fetch(
                "SELECT 1 AS busy FROM inventory_levels WHERE tenant_id = ? AND sku = ? AND (committed > 0 OR reserved > 0)",
                world["tenant_id"],
                sku,
            )
            if not busy:
                return sku
    return None


async def seed(operator: Principal, world: dict[str, Any]) -> None:
    suppliers = world.get("suppliers", [])
    channel_id = world.get("channel_id")
    if len(suppliers) < 3 or channel_id is None or not world.get("listings"):
        return
    scarce = await _scarce_sku(world)
    second = suppliers[1]["id"]
    shanghai = await locations.create(
        operator,
        LocationCreate(
            supplier_id=second,
            name=f"{suppliers[1]['name']} – Shanghai central warehouse",
            kind="central_warehouse",
            lat=SHANGHAI[0],
            lng=SHANGHAI[1],
            service_radius_km=250.0,
            modes=["delivery"],
            prep_minutes=240,
            address=Address(line1="2000 Jiasong North Road", postal_code="201800", city="Shanghai", country="CN"),
            timezone="Asia/Shanghai",
        ),
    )
    world.setdefault("locations", []).append({"id": shanghai.id, "supplier_id": second, "kind": "central_warehouse"})
    world["shanghai_warehouse"] = shanghai.id
    if scarce is not None:
        world["scarce_sku"] = scarce
        hangzhou = [
            loc["id"]
            for loc in world["locations"]
            if loc["supplier_id"] in (second, suppliers[2]["id"])
            and loc["kind"] != "pickup_point"
            and loc["id"] != shanghai.id
        ]
        await inventory.set_levels(
            operator,
            [SetItem(location_id=loc, sku=scarce, on_hand=0, sequence=2) for loc in hangzhou]
            + [SetItem(location_id=shanghai.id, sku=scarce, on_hand=12, sequence=1)],
        )
    await _week(operator, world, channel_id, scarce)


async def _place(operator: Principal, channel_id: str, sku: str, qty: int, where: tuple[float, float], n: int) -> Any:
    return await orders.place(
        operator,
        OrderCreate(
            channel_id=channel_id,
            lines=[LineIn(sku=sku, qty=qty)],
            destination=Destination(lat=where[0], lng=where[1]),
            customer=Customer(name="Demo consumer"),
            reference=f"WEEK-{n:03d}",
        ),
        None,
    )


async def _week(operator: Principal, world: dict[str, Any], channel_id: str, scarce: str | None) -> None:
    rng = random.Random(14)  # noqa: S311 - the same believable week every time, not a secret
    skus = [listing["sku"] for listing in world["listings"] if listing["sku"] != scarce]
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    # (day, fate): what happens to each order of the week; most are delivered on time
    fates = ["on_time"] * 4 + ["late", "cancel", "on_time", "return", "reject", "on_time"]
    n = 0
    made: dict[str, int] = {}
    for days_ago in range(7, 0, -1):
        for slot in range(5):
            n += 1
            fate = fates[(days_ago * 5 + slot) % len(fates)]
            placed_at = today - timedelta(days=days_ago) + timedelta(hours=2 + slot * 1.5, minutes=rng.randint(0, 40))
            where = PLACES[rng.randrange(len(PLACES))]
            sku, qty = rng.choice(skus), rng.randint(1, 3)
            if scarce is not None and slot == 4:
                sku, qty = scarce, (30 if days_ago in (5, 2) else 1)  # too many for Shanghai: refused
            # one transaction per order's story: the order is placed in the past, so its
            # acceptance deadline has passed in real time, and a deadline sweep running beside
            # the demo (an app's background jobs) must not find it pending and re-route it
            async with db().transaction():
                with travel(placed_at):
                    try:
                        order = await _place(operator, channel_id, sku, qty, where, n)
                    except ProblemError:
                        order = None
                if order is not None:
                    await _play(operator, order, fate, placed_at, rng)
            outcome = fate if order is not None else "refused"
            made[outcome] = made.get(outcome, 0) + 1
    world["week"] = made


async def _play(operator: Principal, order: Any, fate: str, placed_at: Any, rng: random.Random) -> None:
    shares = [share.id for share in order.fulfilment_orders]
    accepted_at = placed_at + timedelta(minutes=rng.randint(1, 8))
    if fate == "cancel":
        with travel(accepted_at):
            await orders.cancel(operator, order.id)
        return
    if fate == "reject":  # the first supplier cannot fill it: routing sends it to the next one
        with travel(accepted_at):
            moved = await fulfilment.reroute(operator.tenant_id, shares[0], "shelf empty after a count", "demo")
        if not moved:
            return
        shares = [share["id"] for share in moved] + shares[1:]
        accepted_at += timedelta(minutes=5)
    promised = max(share.promised_at for share in order.fulfilment_orders)
    with travel(accepted_at):
        for share in shares:
            await fulfilment.act(operator, share, "accept")
    late = timedelta(minutes=35) if fate == "late" else -timedelta(minutes=rng.randint(2, 10))
    delivered_at = max(promised + late, accepted_at + timedelta(minutes=10))
    if delivered_at > utcnow() - timedelta(minutes=1):  # a next-day promise still on its way
        return
    with travel(delivered_at - timedelta(minutes=5)):
        for share in shares:
            await fulfilment.act(operator, share, "ship")
    with travel(delivered_at):
        for share in shares:
            await fulfilment.act(operator, share, "deliver")
    if fate == "return" and delivered_at + timedelta(hours=20) < utcnow():
        with travel(delivered_at + timedelta(hours=20)):
            await orders.return_(operator, order.id)
