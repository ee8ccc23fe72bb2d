"""The SDK against a live `gateway serve` on 127.0.0.1 (no mocks of the gateway): every
resource through `Gateway` and `AsyncGateway`, OAuth tokens, bulk stock sync, the CLI with
a 50,000-row CSV, and retries through a proxy that drops connections and answers 429."""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from receivers import Receiver
from sdk_proxy import FlakyProxy
from servers import GATEWAY, serving

from sdk import (
    AdjustItem,
    AsyncGateway,
    Destination,
    Gateway,
    Line,
    Money,
    NotFound,
    OutOfStock,
    RetryPolicy,
    SetItem,
    ValidationFailed,
    verify_webhook,
)

pytestmark = pytest.mark.slow

GATEWAY_SDK = str(Path(sys.executable).parent / "gateway-sdk")
CENTRE = (30.2741, 120.1551)
FAST = RetryPolicy(max_retries=4, backoff=0.05, max_backoff=0.2)


class World:
    """A tenant on the live server: operator, one supplier (key) with two stores, a channel (key)."""

    def __init__(self, base: str, database_url: str) -> None:
        self.base = base
        created = json.loads(
            subprocess.run(
                [GATEWAY, "tenant", "create", "SDK live", "--json"],
                env={**os.environ, "GATEWAY_DATABASE_URL": database_url},
                capture_output=True,
                check=True,
                text=True,
            ).stdout
        )
        self.operator_key = created["operator_key"]
        self.http = httpx.Client(base_url=base, trust_env=False, timeout=60)
        self.operator = Gateway(self.operator_key, base_url=base, retry=FAST)
        self.supplier = self.operator.suppliers.create(name="Grocer")
        self.supplier_key = self.key("supplier", self.supplier.id)
        self.channel_id = self.raw("/v1/channels", {"name": "Bike share", "kind": "partner_app"})["id"]
        self.channel_key = self.key("channel", self.channel_id)
        self.as_supplier = Gateway(self.supplier_key, base_url=base, retry=FAST)
        self.as_channel = Gateway(self.channel_key, base_url=base, retry=FAST)
        self.stores = [
            self.as_supplier.locations.create(
                name=f"Store {i}",
                kind="store",
                lat=CENTRE[0] + i * 0.01,
                lng=CENTRE[1],
                service_radius_km=20,
                modes=["delivery", "pickup"],
                prep_minutes=10,
            ).id
            for i in range(2)
        ]
        self.skus = self.products("SKU", 5)
        for sku in self.skus:
            self.as_supplier.offers.create(sku=sku, wholesale_price=Money(amount=300, currency="CNY"))
            self.as_channel.listings.create(sku=sku, price=Money(amount=500, currency="CNY"))

    def raw(self, path: str, body: dict[str, Any], key: str | None = None) -> dict[str, Any]:
        response = self.http.post(path, json=body, headers={"Authorization": f"Bearer {key or self.operator_key}"})
        assert response.status_code in (200, 201), response.text
        return response.json()  # type: ignore[no-any-return]

    def key(self, owner_type: str, owner_id: str) -> str:
        return str(self.raw("/v1/api-keys", {"owner": {"type": owner_type, "id": owner_id}, "kind": "secret"})["key"])

    def products(self, prefix: str, count: int) -> list[str]:
        stamp = str(time.time_ns())[-9:]
        skus = [f"{prefix}-{stamp}-{i}" for i in range(count)]
        for start in range(0, count, 500):
            chunk = skus[start : start + 500]
            self.raw(
                "/v1/products/batch",
                {"products": [{"title": sku, "variants": [{"sku": sku, "title": sku}]} for sku in chunk]},
                key=self.supplier_key,
            )
        return skus


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with serving(database_url, tmp_path_factory.mktemp("sdk-live"), GATEWAY_WEBHOOKS_ALLOW_INSECURE="true") as (
        server,
    ):
        yield server


@pytest.fixture(scope="module")
def world(server: Any, database_url: str) -> World:
    return World(server.base, database_url)


def _levels(client: Gateway, location: str) -> dict[str, tuple[int, int, int]]:
    return {
        level.sku: (level.on_hand, level.committed, level.available)
        for level in client.inventory.iter_levels(location_id=location, limit=2)
    }


# -- every resource ------------------------------------------------------------------------------


def test_suppliers_locations_offers_listings(world: World) -> None:
    op, sup, chn = world.operator, world.as_supplier, world.as_channel
    assert op.suppliers.get(world.supplier.id).name == "Grocer"
    renamed = op.suppliers.update(world.supplier.id, version=world.supplier.version, name="Grocer & Co")
    assert renamed.name == "Grocer & Co" and renamed.version == world.supplier.version + 1
    assert world.supplier.id in {s.id for s in op.suppliers.iter(limit=1)}  # walks pages of one
    assert [loc.id for loc in sup.locations.iter(limit=1)] == sorted(world.stores)
    store = sup.locations.get(world.stores[0])
    assert store.modes == ["delivery", "pickup"] and store.supplier_id == world.supplier.id
    assert sup.locations.deactivate(store.id).status == "inactive"
    assert sup.locations.activate(store.id).status == "active"
    offers = list(sup.offers.iter(limit=2))
    assert sorted(o.sku for o in offers) == sorted(world.skus)
    offer = sup.offers.update(
        offers[0].id, version=offers[0].version, wholesale_price=Money(amount=310, currency="CNY")
    )
    assert offer.wholesale_price == Money(amount=310, currency="CNY")
    listings = chn.listings.list(limit=200)
    assert sorted(item.sku for item in listings.data) == sorted(world.skus) and not listings.has_more
    assert chn.listings.get(listings.data[0].id).price.amount == 500
    with pytest.raises(NotFound) as missing:
        sup.offers.get("off_" + "0" * 26)
    assert missing.value.status == 404 and missing.value.type.endswith("not-found") and missing.value.request_id
    with pytest.raises(ValidationFailed) as invalid:
        sup.offers.create(sku="no such sku!", wholesale_price=Money(amount=1, currency="CNY"))
    assert invalid.value.errors and invalid.value.errors[0]["field"] == "sku"


def test_inventory_set_adjust_levels_movements(world: World) -> None:
    sup = world.as_supplier
    store, sku = world.stores[1], world.skus[0]
    first = sup.inventory.set([SetItem(location_id=store, sku=sku, on_hand=10, sequence=1)])
    assert (first.applied, first.unchanged, first.refused) == (1, 0, 0)
    again = sup.inventory.set([SetItem(location_id=store, sku=sku, on_hand=10, sequence=2)])
    assert (again.applied, again.unchanged, again.results[0].status) == (0, 1, "unchanged")
    stale = sup.inventory.set([SetItem(location_id=store, sku=sku, on_hand=3, sequence=1)])
    assert stale.results[0].error is not None and stale.results[0].error.code == "stale_sequence"
    moved = sup.inventory.adjust([AdjustItem(location_id=store, sku=sku, delta=-4, reason="damaged")])
    assert moved.results[0].level is not None and moved.results[0].level.on_hand == 6
    movements = list(sup.inventory.iter_movements(location_id=store, sku=sku, limit=1))
    # the unchanged count wrote no movement: one `sync`, one `damaged`
    assert [(m.reason, m.delta_on_hand) for m in movements] == [("sync", 10), ("damaged", -4)]
    assert sup.inventory.levels(location_id=store, sku=sku).data[0].last_sequence == 2


def test_inventory_sync_any_number_of_rows(world: World) -> None:
    sup = world.as_supplier
    rows: list[Any] = [
        {"location_id": store, "sku": sku, "on_hand": str(7 + i)}  # CSV gives strings
        for i, (store, sku) in enumerate((s, k) for s in world.stores for k in world.skus[1:])
    ]
    rows.append({"location_id": "not-a-location", "sku": world.skus[1], "on_hand": 1})  # refused here
    rows.append({"location_id": world.stores[0], "sku": world.skus[1], "on_hand": -1})  # refused here
    rows.append(SetItem(location_id=world.stores[0], sku="NOT-OFFERED", on_hand=1, sequence=1))  # by the gateway
    report = sup.inventory.sync(rows, batch_size=3)
    assert (report.rows, report.applied, report.unchanged, report.refused, report.batches) == (11, 8, 0, 3, 3)
    assert [r.row for r in report.results] == list(range(11))
    assert [(r.row, r.code) for r in report.refusals] == [(8, "invalid_row"), (9, "invalid_row"), (10, "not_offered")]
    # the same counts again: nothing to change, every row says so; a changed count is applied
    rows[0] = {**rows[0], "on_hand": 99}
    second = sup.inventory.sync(rows[:8], batch_size=5)
    assert (second.applied, second.unchanged, second.refused) == (1, 7, 0)
    assert _levels(sup, world.stores[0])[world.skus[1]][0] == 99


def test_quotes_orders_fulfilment_and_events(world: World) -> None:
    sup, chn = world.as_supplier, world.as_channel
    store, sku = world.stores[0], world.skus[4]
    sup.inventory.set([SetItem(location_id=store, sku=sku, on_hand=5, sequence=time.time_ns() // 1000)])
    destination = Destination(lat=CENTRE[0] + 0.002, lng=CENTRE[1])
    mark = [e.id for e in world.operator.events.iter()][-1]
    quote = chn.quotes.create(lines=[Line(sku=sku, qty=2)], destination=destination, mode="delivery")
    assert quote.total.amount >= 1000 and quote.shipments[0].location_id == store
    assert chn.quotes.get(quote.id).id == quote.id
    order = chn.orders.create(quote_id=quote.id, reference="SDK-1")
    assert order.status == "pending" and len(order.fulfilment_orders) == 1
    assert chn.orders.get(order.id).total == order.total
    assert [o.id for o in chn.orders.iter(reference="SDK-1")] == [order.id]
    job = order.fulfilment_orders[0]
    assert [j.id for j in sup.fulfilment_orders.iter(status="pending", order_id=order.id)] == [job.id]
    assert sup.fulfilment_orders.accept(job.id).status == "accepted"
    assert sup.fulfilment_orders.ship(job.id).status == "shipped"
    assert sup.fulfilment_orders.get(job.id).status == "shipped"
    assert _levels(sup, store)[sku] == (3, 0, 3)
    with pytest.raises(OutOfStock) as refused:
        chn.orders.create(lines=[Line(sku=sku, qty=50)], destination=destination, mode="delivery")
    assert refused.value.status == 409 and "out-of-stock" in refused.value.type
    released = chn.quotes.release(chn.quotes.create(lines=[Line(sku=sku, qty=1)], destination=destination).id)
    assert released.status != "active"
    types = [e.type for e in world.operator.events.tail(after=mark, stop_when_idle=True)]
    assert "order.created" in types and "fulfilment_order.shipped" in types
    one = world.operator.events.list(after=mark, limit=1).data[0]
    assert world.operator.events.get(one.id) == one


def test_webhook_endpoints_and_verify(world: World) -> None:
    receiver = Receiver()
    url = receiver.url
    try:
        hooks = world.operator.webhook_endpoints
        endpoint = hooks.create(url=url, events=["order.*"], description="ERP")
        assert endpoint.secret and endpoint.secret.startswith("whsec_") and endpoint.status == "enabled"
        assert hooks.get(endpoint.id).secret is None  # shown once
        assert endpoint.id in {e.id for e in hooks.iter(limit=1)}
        ping = hooks.ping(endpoint.id)
        assert ping.succeeded and ping.status_code == 200
        delivery = receiver.requests[-1]
        event = verify_webhook(delivery.body, delivery.headers, endpoint.secret)
        assert event.id == delivery.headers["webhook-id"]
        rotated = hooks.rotate_secret(endpoint.id)
        assert rotated.secret and rotated.secret != endpoint.secret
        updated = hooks.update(endpoint.id, version=hooks.get(endpoint.id).version, events=["*"])
        assert updated.events == ["*"]
        assert hooks.disable(endpoint.id).status == "disabled"
        assert hooks.enable(endpoint.id).status == "enabled"
        assert list(hooks.iter_deliveries(endpoint.id)) is not None
        hooks.delete(endpoint.id)
        with pytest.raises(NotFound):
            hooks.get(endpoint.id)
    finally:
        receiver.close()


def test_oauth_client_credentials_fetched_and_renewed(world: World) -> None:
    app = world.raw(
        "/v1/oauth-clients",
        {
            "name": "ERP sync",
            "owner": {"type": "supplier", "id": world.supplier.id},
            "grant_types": ["client_credentials"],
            "scopes": ["read:inventory", "write:inventory"],
        },
    )
    with Gateway(
        client_id=app["client_id"], client_secret=app["client_secret"], base_url=world.base, retry=FAST
    ) as client:
        before = _levels(client, world.stores[0])
        first = client._token.access_token
        assert first and first.count(".") == 2  # a JWT
        client._token.renew_at = 0.0  # as if it were about to expire
        assert _levels(client, world.stores[0]) == before
        assert client._token.access_token not in (None, first)
        client._token.access_token = first[:-4] + "AAAA"  # a token the gateway refuses: 401, one new token
        assert _levels(client, world.stores[0]) == before
    # the CLI takes the OAuth client from the environment
    pulled = subprocess.run(
        [GATEWAY_SDK, "stock", "pull", "--location-id", world.stores[0], "--format", "json"],
        env={
            **{k: v for k, v in os.environ.items() if k != "GATEWAY_API_KEY"},
            "GATEWAY_URL": world.base,
            "GATEWAY_CLIENT_ID": app["client_id"],
            "GATEWAY_CLIENT_SECRET": app["client_secret"],
        },
        capture_output=True,
        timeout=120,
    )
    assert pulled.returncode == 0, pulled.stderr
    assert {level["sku"]: level["on_hand"] for level in json.loads(pulled.stdout)} == {
        sku: value[0] for sku, value in before.items()
    }


# -- sync and async agree ------------------------------------------------------------------------


def test_async_and_sync_give_the_same_results(world: World) -> None:
    async def read_all() -> list[Any]:
        async with AsyncGateway(world.supplier_key, base_url=world.base, retry=FAST) as client:
            return [
                await client.suppliers.get(world.supplier.id),
                [x async for x in client.locations.iter(limit=1)],
                [x async for x in client.offers.iter(limit=2)],
                [x async for x in client.inventory.iter_levels(limit=3)],
                [x async for x in client.inventory.iter_movements(limit=3)],
                [x async for x in client.fulfilment_orders.iter(limit=1)],
            ]

    sup = world.as_supplier
    expected = [
        sup.suppliers.get(world.supplier.id),
        list(sup.locations.iter(limit=1)),
        list(sup.offers.iter(limit=2)),
        list(sup.inventory.iter_levels(limit=3)),
        list(sup.inventory.iter_movements(limit=3)),
        list(sup.fulfilment_orders.iter(limit=1)),
    ]
    assert asyncio.run(read_all()) == expected

    # the same sync of the same rows, one per client, on two fresh locations: the same report
    stores = [
        sup.locations.create(
            name=f"Twin {i}", kind="store", lat=CENTRE[0], lng=CENTRE[1], service_radius_km=5, modes=["pickup"],
            prep_minutes=5,
        ).id
        for i in range(2)
    ]  # fmt: skip

    def rows(store: str) -> list[dict[str, Any]]:
        return [{"location_id": store, "sku": sku, "on_hand": n + 1} for n, sku in enumerate([*world.skus, "NOPE"])]

    async def push() -> Any:
        async with AsyncGateway(world.supplier_key, base_url=world.base) as client:
            return await client.inventory.sync(rows(stores[1]), batch_size=2)

    by_sync, by_async = sup.inventory.sync(rows(stores[0]), batch_size=2), asyncio.run(push())
    strip = [(r.row, r.sku, r.status, r.on_hand, r.code) for r in by_sync.results]
    assert strip == [(r.row, r.sku, r.status, r.on_hand, r.code) for r in by_async.results]
    assert (by_sync.applied, by_sync.refused) == (by_async.applied, by_async.refused) == (5, 1)


# -- retries through a flaky proxy ---------------------------------------------------------------


def _http_date(seconds_ahead: int) -> str:
    return email.utils.formatdate(time.time() + seconds_ahead, usegmt=True)


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_retries_apply_a_stock_move_once_and_place_one_order_per_key(world: World, flavour: str) -> None:
    sup_direct = world.as_supplier
    store, sku = world.stores[1], world.skus[3]
    sup_direct.inventory.set([SetItem(location_id=store, sku=sku, on_hand=100, sequence=time.time_ns() // 1000)])
    committed_before = _levels(sup_direct, store)[sku][1]
    received_before = len(list(sup_direct.inventory.iter_movements(location_id=store, sku=sku, reason="received")))
    proxy = FlakyProxy(world.base)
    try:
        # an adjust: dropped before the gateway, lost after it (applied, answer gone), 429, then through
        proxy.plan("drop", "lost", ("429", "1"), "pass")
        delta = AdjustItem(location_id=store, sku=sku, delta=5, reason="received", reference=f"grn-{flavour}")
        reference = f"RETRY-{flavour}-{time.time_ns()}"
        order_lines = [Line(sku=sku, qty=3)]
        destination = Destination(lat=world.stores and CENTRE[0] + 0.01, lng=CENTRE[1])

        if flavour == "sync":
            with Gateway(world.supplier_key, base_url=proxy.base, retry=FAST) as sup:
                adjusted = sup.inventory.adjust([delta])
            adjust_seen = list(proxy.seen)
            proxy.plan("lost", ("429", _http_date(1)), "lost", "pass")
            with Gateway(world.channel_key, base_url=proxy.base, retry=FAST) as chn:
                order = chn.orders.create(
                    lines=order_lines, destination=destination, mode="delivery", reference=reference
                )
        else:

            async def run() -> Any:
                async with AsyncGateway(world.supplier_key, base_url=proxy.base, retry=FAST) as sup:
                    return await sup.inventory.adjust([delta])

            adjusted = asyncio.run(run())
            adjust_seen = list(proxy.seen)
            proxy.plan("lost", ("429", _http_date(1)), "lost", "pass")

            async def place() -> Any:
                async with AsyncGateway(world.channel_key, base_url=proxy.base, retry=FAST) as chn:
                    return await chn.orders.create(
                        lines=order_lines, destination=destination, mode="delivery", reference=reference
                    )

            order = asyncio.run(place())
        order_seen = list(proxy.seen)
    finally:
        proxy.close()

    assert [s.action for s in adjust_seen] == ["drop", "lost", "429", "pass"]
    assert len({s.idempotency_key for s in adjust_seen}) == 1 and adjust_seen[0].idempotency_key
    assert adjusted.applied == 1 and adjusted.results[0].level is not None
    received = list(sup_direct.inventory.iter_movements(location_id=store, sku=sku, reason="received"))
    assert [(m.delta_on_hand, m.reference) for m in received[received_before:]] == [(5, f"grn-{flavour}")]

    assert [s.action for s in order_seen] == ["lost", "429", "lost", "pass"]
    assert len({s.idempotency_key for s in order_seen}) == 1
    placed = list(world.as_channel.orders.iter(reference=reference))
    assert [o.id for o in placed] == [order.id]  # one order for the key, though the gateway saw it thrice
    level = _levels(sup_direct, store)[sku]
    assert level[0] == 105 and level[1] == committed_before + 3  # 3 committed once


def test_retry_after_longer_than_the_policy_allows_is_raised_not_slept(world: World) -> None:
    from sdk import RateLimited

    proxy = FlakyProxy(world.base)
    try:
        proxy.plan(("429", "3600"))
        with (
            Gateway(world.supplier_key, base_url=proxy.base, retry=FAST) as client,
            pytest.raises(RateLimited) as error,
        ):
            client.suppliers.get(world.supplier.id)
        assert error.value.retry_after == 3600 and len(proxy.seen) == 1
        proxy.plan("drop", "drop", "drop")
        with Gateway(world.supplier_key, base_url=proxy.base, retry=RetryPolicy(max_retries=2, backoff=0.01)) as c:
            from sdk import ConnectionFailed

            with pytest.raises(ConnectionFailed):
                c.suppliers.get(world.supplier.id)
        assert len(proxy.seen) == 3
    finally:
        proxy.close()


# -- the CLI -------------------------------------------------------------------------------------


def _cli(
    world: World, *args: str, key: str | None = None, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [GATEWAY_SDK, *args],
        env={**os.environ, "GATEWAY_URL": world.base, "GATEWAY_API_KEY": key or world.supplier_key},
        capture_output=True,
        input=stdin,
        timeout=300,
    )


def test_cli_pushes_50000_rows_from_a_csv_in_one_command(world: World, tmp_path: Path) -> None:
    sup = world.as_supplier
    stores = [
        sup.locations.create(
            name=f"Bulk {i}", kind="store", lat=CENTRE[0], lng=CENTRE[1], service_radius_km=5, modes=["pickup"],
            prep_minutes=5,
        ).id
        for i in range(250)
    ]  # fmt: skip
    skus = world.products("BULK", 200)
    for sku in skus:
        sup.offers.create(sku=sku, wholesale_price=Money(amount=100, currency="CNY"))
    lines = ["location_id,sku,on_hand"]
    lines += [f"{store},{sku},{1 + (i * 7 + j) % 90}" for i, store in enumerate(stores) for j, sku in enumerate(skus)]
    lines[10] = f"{stores[0]},NOT-OFFERED-1,5"  # refused by the gateway (not offered)
    lines[20] = f"{stores[0]},{skus[0]},lots"  # refused before sending (not a number)
    csv_file = tmp_path / "counts.csv"
    csv_file.write_text("\n".join(lines) + "\n")

    done = _cli(world, "stock", "push", str(csv_file))
    out = done.stdout.decode()
    assert done.returncode == 1, done.stderr.decode()  # some rows refused
    totals = next(line for line in out.splitlines() if "50,000" in line)
    assert [cell.strip() for cell in totals.split("│")[1:6]] == ["50,000", "49,998", "0", "2", "10"], out
    assert "refused rows (2)" in out, out
    assert "line 11" in out and "not_offered" in out and "line 21" in out and "invalid_row" in out, out

    # the same counts again, as JSON lines: nothing changes, every row says so, exit 0
    again = tmp_path / "again.jsonl"
    again.write_text(
        "\n".join(json.dumps(dict(zip(["location_id", "sku", "on_hand"], line.split(",")))) for line in lines[30:40])
    )
    as_json = _cli(world, "stock", "push", str(again), "--json", "--quiet")
    summary = json.loads(as_json.stdout)
    assert (summary["rows"], summary["applied"], summary["unchanged"], summary["refused"]) == (10, 0, 10, 0)
    assert as_json.returncode == 0

    # the gateway out of reach: exit 2, nothing claimed
    unreachable = subprocess.run(
        [GATEWAY_SDK, "--url", "http://127.0.0.1:9", "--retries", "1", "stock", "push", str(again), "--quiet"],
        env={**os.environ, "GATEWAY_API_KEY": world.supplier_key},
        capture_output=True,
        timeout=120,
    )
    assert unreachable.returncode == 2 and b"ConnectError" in unreachable.stderr, unreachable.stderr

    pulled = _cli(world, "stock", "pull", "--location-id", stores[3])
    assert pulled.returncode == 0
    rows = pulled.stdout.decode().splitlines()
    assert len(rows) == 201 and rows[0].startswith("location_id,sku,on_hand")
    assert f"{stores[3]},{skus[5]},{1 + (3 * 7 + 5) % 90}," in pulled.stdout.decode()


def test_cli_orders_fulfilment_events_and_webhooks(world: World, tmp_path: Path) -> None:
    store, sku = world.stores[0], world.skus[2]
    world.as_supplier.inventory.set([SetItem(location_id=store, sku=sku, on_hand=9, sequence=time.time_ns() // 1000)])
    placed = _cli(
        world, "orders", "place", "--line", f"{sku}:2", "--lat", str(CENTRE[0]), "--lng", str(CENTRE[1]),
        "--reference", "CLI-1", key=world.channel_key,
    )  # fmt: skip
    assert placed.returncode == 0, placed.stderr.decode()
    order = json.loads(placed.stdout)
    job = order["fulfilment_orders"][0]["id"]
    listed = _cli(world, "fulfilment", "list", "--status", "pending")
    assert job in listed.stdout.decode()
    assert json.loads(_cli(world, "fulfilment", "accept", job).stdout)["status"] == "accepted"
    assert json.loads(_cli(world, "fulfilment", "ship", job).stdout)["status"] == "shipped"
    got = _cli(world, "orders", "get", order["id"], key=world.channel_key)
    assert json.loads(got.stdout)["id"] == order["id"]
    refused = _cli(
        world, "orders", "place", "--line", f"{sku}:900", "--lat", "30.27", "--lng", "120.15", key=world.channel_key
    )
    assert refused.returncode == 2 and b"409" in refused.stderr

    tail = _cli(world, "events", "tail", "--once", key=world.operator_key)
    assert tail.returncode == 0
    types = [json.loads(line)["type"] for line in tail.stdout.decode().splitlines()]
    assert "fulfilment_order.shipped" in types

    from standardwebhooks import Webhook

    secret = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"  # base64 of 27 bytes
    body = b'{"id":"evt_1","type":"order.created","created_at":"2026-11-23T12:00:00Z","data":{}}'
    stamp = int(time.time())
    from datetime import UTC, datetime

    signature = Webhook(secret).sign("evt_1", datetime.fromtimestamp(stamp, UTC), body.decode())
    headers = ["--header", "webhook-id: evt_1", "--header", f"webhook-timestamp: {stamp}"]
    good = _cli(
        world,
        "webhooks",
        "verify",
        "--secret",
        secret,
        *headers,
        "--header",
        f"webhook-signature: {signature}",
        stdin=body,
    )
    assert good.returncode == 0 and json.loads(good.stdout)["type"] == "order.created"
    bad = _cli(
        world,
        "webhooks",
        "verify",
        "--secret",
        secret,
        *headers,
        "--header",
        f"webhook-signature: {signature}",
        stdin=body + b" ",
    )
    assert bad.returncode == 1 and b"invalid" in bad.stderr
