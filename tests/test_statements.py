"""Statements (DESIGN §15): for random histories of placements, cancellations, returns and
re-routes spread over several days and two currencies, every party's statement adds up, with
the others', to exactly what consumers paid minus what they got back, per currency and day;
and no party ever sees another's lines.

The model of what consumers paid is the test's own: an order charges its total on the day it
is placed; a cancellation or a return gives back whatever is still charged; a rejected share
that no location takes over gives back its goods (units at the listing price) and its delivery
fee; a re-route changes nothing for the consumer.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from order_world import City, near

from channels.orders import services as orders
from channels.orders.schemas import Destination, LineIn, OrderCreate
from channels.routing.schemas import PolicyIn
from channels.routing.services import put_policy
from channels.statements import arithmetic
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


async def build(client: Any) -> World:
    from gateway.tenancy.services import create_tenant

    created = await create_tenant("Statements")
    tenant = Tenantish(client, created.tenant.id, created.operator_key)
    first, first_key = await tenant.channel("Bike share")
    second, second_key = await tenant.channel("Group leader")
    city = City(tenant, first, first_key)
    defaults = PolicyIn(acceptance_deadline_minutes=10080, take_rate_bps=733)
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


async def get(world: World, path: str, key: str, **params: Any) -> Any:
    response = await world.city.tenant.client.get(path, params=params, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.text
    return response


async def pages(world: World, path: str, key: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params = {**params, "limit": 200}
    while True:
        page = (await get(world, path, key, **params)).json()
        items += page["data"]
        if not page["has_more"]:
            return items
        params["after"] = page["next_cursor"]


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(ops=operations)
async def test_statements_of_all_parties_reconcile_to_consumer_payments(client: Any, database: Any, ops: Any) -> None:
    world = await build(client)
    model = await run(world, ops)
    today = utcnow().date()
    first, last = today - timedelta(days=2), today  # three days ago falls in the opening balance
    window = {"from": first.isoformat(), "to": last.isoformat()}
    operator = world.city.tenant.operator_key

    everyone = await pages(world, "/v1/statements", operator, **window)
    summed: dict[tuple[str, str], int] = defaultdict(int)
    opening: dict[str, int] = defaultdict(int)
    closing: dict[str, int] = defaultdict(int)
    for statement in everyone:
        for block in statement["currencies"]:
            opening[block["currency"]] += block["opening"]
            closing[block["currency"]] += block["closing"]
            assert block["closing"] == block["opening"] + sum(d["amount"] for d in block["days"])
            for day in block["days"]:
                summed[(block["currency"], day["date"])] += day["amount"]
    in_window = {k: v for k, v in model.net.items() if k[1] >= first.isoformat() and v}
    assert {k: v for k, v in summed.items() if v} == in_window
    for currency in {c for c, _ in model.net}:
        before = sum(v for (c, d), v in model.net.items() if c == currency and d < first.isoformat())
        assert opening[currency] == before
        assert closing[currency] == sum(v for (c, _), v in model.net.items() if c == currency)

    # each party: its own statement, its own lines (summing to its statement), nobody else's
    parties = {s["party"]["id"]: s for s in everyone}
    for party_id, key in world.keys.items():
        mine = (await get(world, "/v1/statements", key, **window)).json()["data"]
        if party_id not in parties:
            assert mine == [] or all(not block["days"] for s in mine for block in s["currencies"])
            continue
        assert mine == [parties[party_id]]
        lines = await pages(world, "/v1/statements/lines", key, **window)
        field = "supplier_id" if party_id.startswith("sup_") else "channel_id"
        assert all(line[field] == party_id for line in lines)
        by_day: dict[tuple[str, str], int] = defaultdict(int)
        for line in lines:
            by_day[(line["amount"]["currency"], line["date"])] += line["amount"]["amount"]
        assert {k: v for k, v in by_day.items() if v} == {
            (block["currency"], d["date"]): d["amount"]
            for block in parties[party_id]["currencies"]
            for d in block["days"]
            if d["amount"]
        }
        for other in world.keys:
            if other != party_id:
                response = await world.city.tenant.client.get(
                    "/v1/statements/lines", params={"party": other}, headers={"Authorization": f"Bearer {key}"}
                )
                assert response.status_code == 404, response.text

    # the whole journal, line by line, is what consumers paid
    journal = await pages(world, "/v1/statements/lines", operator, **window)
    for line in journal:
        split = line["split"]
        assert split["retail"] == split["wholesale"] + split["platform_fee"] + split["channel_margin"]
    paid: dict[tuple[str, str], int] = defaultdict(int)
    for line in journal:
        paid[(line["amount"]["currency"], line["date"])] += line["amount"]["amount"]
    assert {k: v for k, v in paid.items() if v} == in_window


def test_postings_reverse_exactly() -> None:
    lines = [
        {"sku": "A", "qty": 3, "unit_price": 333, "wholesale_unit": 200, "platform_fee": 50},
        {"sku": "B", "qty": 1, "unit_price": 100, "wholesale_unit": 120, "platform_fee": 5},
    ]
    booked = arithmetic.postings_of_share(lines, 300)
    reversed_ = arithmetic.postings_of_share(lines, 300, -1)
    assert [p.amounts.times(-1) for p in reversed_] == [p.amounts for p in booked]
    assert all(p.amounts.balanced() for p in booked + reversed_)
    total = sum(p.amounts.consumer for p in booked)
    assert total == 3 * 333 + 100 + 300
    assert total == sum(p.amounts.part(t) for p in booked for t in arithmetic.PARTY_TYPES)
    assert booked[1].amounts.channel_margin == 100 - 120 - 5  # a loss is on record, not rounded away


def test_assemble_carries_opening_to_closing() -> None:
    made = arithmetic.assemble({"CNY": 100}, [("2026-01-02", "CNY", -30, 2), ("2026-01-01", "CNY", 50, 1)])
    assert made == [
        arithmetic.CurrencyStatement(
            currency="CNY",
            opening=100,
            days=[arithmetic.DayTotal("2026-01-01", 50, 1), arithmetic.DayTotal("2026-01-02", -30, 2)],
            closing=120,
        )
    ]
    assert arithmetic.day_of(datetime(2026, 1, 1, 23, 30, tzinfo=UTC)) == "2026-01-01"


async def test_csv_export_matches_the_statement(client: Any, database: Any) -> None:
    world = await build(client)
    await run(world, [("place", 0, 0), ("place", 1, 4), ("deliver", 0, 0), ("place", 4, 3), ("cancel", 2, 0)])
    operator = world.city.tenant.operator_key
    supplier = next(k for k in world.keys if k.startswith("sup_"))
    response = await get(world, "/v1/statements/csv", operator, party=supplier)
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    statement = (await get(world, "/v1/statements", operator, party=supplier)).json()["data"][0]
    for block in statement["currencies"]:
        mine = [r for r in rows if r["currency"] == block["currency"]]
        assert [int(r["amount"]) for r in mine if r["record"] == "opening"] == [block["opening"]]
        assert [int(r["amount"]) for r in mine if r["record"] == "closing"] == [block["closing"]]
        assert [int(r["amount"]) for r in mine if r["record"] == "day_total"] == [d["amount"] for d in block["days"]]
        assert sum(int(r["amount"]) for r in mine if r["record"] == "line") == block["closing"] - block["opening"]
    assert {r["supplier_id"] for r in rows if r["record"] == "line"} <= {supplier}


async def test_a_period_is_checked(client: Any, database: Any) -> None:
    world = await build(client)
    key = world.city.tenant.operator_key
    for params, field in (
        ({"from": "2026-02-01", "to": "2026-01-01"}, "from"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "from"),
    ):
        response = await world.city.tenant.client.get(
            "/v1/statements", params=params, headers={"Authorization": f"Bearer {key}"}
        )
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == field
    unknown = await world.city.tenant.client.get(
        "/v1/statements", params={"party": "sup_" + "0" * 26}, headers={"Authorization": f"Bearer {key}"}
    )
    assert unknown.status_code == 404


async def test_every_kind_of_money_movement_is_booked(client: Any, database: Any) -> None:
    """A fixed history with a sale, a cancellation, a return, a re-route and a share nobody
    could take over: each is in the journal, and the consumers' money still adds up."""
    world = await build(client)
    model = await run(
        world,
        [
            ("place", 1, 0),  # apple: x, y and z stock it
            ("place", 2, 2),  # bread: only x
            ("place", 3, 4),  # umbrella (USD)
            ("reject", 0, 0),  # the apple share moves to another store
            ("reject", 1, 0),  # the bread share has nowhere to go
            ("cancel", 2, 0),
            ("place", 5, 1),
            ("deliver", 3, 0),
            ("return", 3, 0),
        ],
    )
    lines = await pages(world, "/v1/statements/lines", world.city.tenant.operator_key)
    assert {line["kind"] for line in lines} == {"sale", "reroute", "unfilled", "cancellation", "return"}
    paid: dict[tuple[str, str], int] = defaultdict(int)
    for line in lines:
        paid[(line["amount"]["currency"], line["date"])] += line["amount"]["amount"]
    assert {k: v for k, v in paid.items() if v} == {k: v for k, v in model.net.items() if v}
