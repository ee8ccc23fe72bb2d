"""A small city with three suppliers, two channels and two currencies, and a runner of order
histories (placements, cancellations, deliveries, returns, rejections) at chosen times, with
the test's own model of what consumers paid."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from hypothesis import strategies as st
from order_world import City, near

from channels.orders import services as orders
from channels.orders.schemas import Destination, LineIn, OrderCreate
from channels.routing.schemas import PolicyIn
from channels.routing.services import put_policy
from gateway.clock import travel, utcnow
from gateway.http.problems import ProblemError
from gateway.tenancy.principal import Principal
from suppliers.fulfilment import services as fulfilment

PRICES = {"APPLE": (300, "CNY"), "BREAD": (500, "CNY"), "UMBRELLA": (900, "USD")}
FEES = {"near": 300, "mid": 500, "far": 800}


class Tenantish:
    """What `order_world.City` needs of conftest's `Tenant`, made without a fixture (one fresh
    tenant per Hypothesis example)."""

    def __init__(self, client: Any, tenant_id: str, operator_key: str) -> None:
        from conftest import Tenant

        self._tenant = Tenant(client, tenant_id, operator_key)
        self.id = tenant_id
        self.operator_key = operator_key

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tenant, name)


class World:
    def __init__(self, city: City, channels: list[dict[str, Any]], keys: dict[str, str]) -> None:
        self.city = city
        self.channels = channels
        self.keys = keys  # party id -> secret key
        self.operator = Principal(
            tenant_id=city.tenant.id, type="operator", owner_id=None, key_id="t", key_kind="secret"
        )


async def build(client: Any, deadline_minutes: int = 10080) -> World:
    from gateway.tenancy.services import create_tenant

    created = await create_tenant("Statements")
    tenant = Tenantish(client, created.tenant.id, created.operator_key)
    first, first_key = await tenant.channel("Bike share")
    second, second_key = await tenant.channel("Group leader")
    city = City(tenant, first, first_key)
    defaults = PolicyIn(acceptance_deadline_minutes=deadline_minutes, take_rate_bps=733)
    policy = {name: getattr(defaults, name) for name in defaults.__struct_fields__ if name != "version"}
    policy["delivery_fees"] = FEES
    await put_policy(tenant.id, policy, None)
    keys = {first["id"]: first_key, second["id"]: second_key}
    x = await city.supplier("X")
    y = await city.supplier("Y")
    z = await city.supplier("Z")
    for supplier in (x, y, z):
        keys[supplier] = city.supplier_keys[supplier]
    sx = await city.location(x, *near(km_north=1))
    sy = await city.location(y, *near(km_east=2))
    sz = await city.location(z, *near(km_north=-3))
    for supplier, wholesale in ((x, 180), (y, 200), (z, 170)):
        await city.offer(supplier, "APPLE", wholesale=wholesale)
    await city.offer(x, "BREAD", wholesale=333)  # only X: a rejected bread share has nowhere to go
    for supplier, wholesale in ((y, 610), (z, 577)):
        await city.offer(supplier, "UMBRELLA", wholesale=wholesale, currency="USD")
    for channel in (first, second):
        for sku, (price, currency) in PRICES.items():
            await city.listing(sku, price=price, currency=currency, channel_id=channel["id"])
    for supplier, store in ((x, sx), (y, sy), (z, sz)):
        for sku in ("APPLE", "BREAD", "UMBRELLA"):
            if sku == "BREAD" and supplier != x or sku == "UMBRELLA" and supplier == x:
                continue
            await city.stock(supplier, store, sku, 500)
    return World(city, [first, second], keys)


#: an operation: (what, which order or channel, a choice, the day it happens: days before today)
BASKETS = [
    [("APPLE", 1)],
    [("APPLE", 3)],
    [("BREAD", 1)],
    [("APPLE", 2), ("BREAD", 1)],
    [("UMBRELLA", 1)],
    [("UMBRELLA", 2)],
    [("APPLE", 700)],  # more than any store: split over locations
]
operations = st.lists(
    st.tuples(
        st.sampled_from(["place", "place", "cancel", "deliver", "return", "reject"]),
        st.integers(0, 30),
        st.integers(0, len(BASKETS) - 1),
    ),
    min_size=4,
    max_size=14,
)


class Model:
    """Consumers' money per (currency, day), by the test's own rules."""

    def __init__(self) -> None:
        self.net: dict[tuple[str, str], int] = defaultdict(int)
        self.charged: dict[str, int] = {}
        self.currency: dict[str, str] = {}

    def pay(self, order_id: str, currency: str, amount: int, day: str) -> None:
        self.charged[order_id] = amount
        self.currency[order_id] = currency
        self.net[(currency, day)] += amount

    def refund(self, order_id: str, amount: int, day: str) -> None:
        assert 0 <= amount <= self.charged[order_id]
        self.charged[order_id] -= amount
        self.net[(self.currency[order_id], day)] -= amount


async def run(world: World, ops: list[tuple[str, int, int]]) -> Model:
    model = Model()
    placed: list[str] = []
    today = utcnow().replace(hour=9, minute=0, second=0, microsecond=0)
    # days run forward: the history starts three days ago and each step may move on a day
    days_ago = 3
    for index, (what, pick, choice) in enumerate(ops):
        if index and pick % 4 == 0 and days_ago > 0:
            days_ago -= 1
        at = today - timedelta(days=days_ago) + timedelta(minutes=index)
        day = at.date().isoformat()
        with travel(at):
            if what == "place" or not placed:
                channel = world.channels[pick % 2]
                principal = Principal(
                    tenant_id=world.city.tenant.id,
                    type="channel",
                    owner_id=channel["id"],
                    key_id="t",
                    key_kind="secret",
                )
                lat, lng = near(km_north=pick % 3 * 0.5)
                try:
                    order = await orders.place(
                        principal,
                        OrderCreate(
                            lines=[LineIn(sku=sku, qty=qty) for sku, qty in BASKETS[choice]],
                            destination=Destination(lat=lat, lng=lng),
                        ),
                        None,
                    )
                except ProblemError as error:  # out of stock: nothing charged, nothing booked
                    assert error.status_code == 409
                    continue
                expected = sum(qty * PRICES[sku][0] for sku, qty in BASKETS[choice])
                assert order.subtotal.amount == expected
                model.pay(order.id, order.total.currency, order.total.amount, day)
                placed.append(order.id)
                continue
            order_id = placed[pick % len(placed)]
            current = await orders.get(world.operator, order_id)
            live = [f for f in current.fulfilment_orders if f.status not in ("rejected", "cancelled", "returned")]
            if what == "cancel":
                try:
                    await orders.cancel(world.operator, order_id)
                except ProblemError:
                    continue
                model.refund(order_id, model.charged[order_id], day)
            elif what == "deliver":
                for share in live:
                    for action in ("accept", "ship", "deliver"):
                        try:
                            await fulfilment.act(world.operator, share.id, action)
                        except ProblemError:
                            pass
            elif what == "return":
                if not live or any(f.status != "delivered" for f in live):
                    continue
                await orders.return_(world.operator, order_id)
                model.refund(order_id, model.charged[order_id], day)
            elif what == "reject":
                pending = [f for f in live if f.status in ("pending", "accepted")]
                if not pending:
                    continue
                share = pending[choice % len(pending)]
                opened = await fulfilment.reroute(world.city.tenant.id, share.id, "out of stock here", "test")
                if not opened:  # nowhere to go: the consumer gets this share's money back
                    goods = sum(line.qty * PRICES[line.sku][0] for line in share.lines)
                    model.refund(order_id, goods + share.delivery_fee.amount, day)
    return model
