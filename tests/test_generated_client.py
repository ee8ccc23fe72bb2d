"""A partner's first hour: generate a Python client from the committed contract with
openapi-python-client, and run a supplier's stock sync and a channel's order with it against a
live `gateway serve`, through the generated typed functions and models only.

The generator runs offline (it reads the document and writes code) with the settings we ship
in `openapi/openapi-python-client.yaml`, and must not warn: a warning means an operation or a
model left out of the client (two schemas named `Destination` once cost 13 operations their
response models, `POST /v1/orders` among them).
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from servers import GATEWAY, serving

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT / "openapi" / "openapi.json"
CONFIG = ROOT / "openapi" / "openapi-python-client.yaml"
GENERATOR = str(Path(sys.executable).parent / "openapi-python-client")
PACKAGE = "commerce_gateway_client"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[subprocess.CompletedProcess[str], Path]]:
    """The client package, generated once for the module; the generator's run is kept to be judged."""
    out = tmp_path_factory.mktemp("client") / PACKAGE
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    run = subprocess.run(
        [GENERATOR, "generate", "--path", str(CONTRACT), "--config", str(CONFIG), "--meta", "none"]
        + ["--output-path", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    sys.path.insert(0, str(out.parent))
    try:
        yield run, out
    finally:
        sys.path.remove(str(out.parent))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_the_generator_warns_about_nothing(generated: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    run, out = generated
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    # it prints "Generating <path>" and, when it leaves something out, warnings after it
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines == [f"Generating {out}"], f"openapi-python-client did not generate cleanly:\n{output}"
    # every operation of the contract is a function of the client, with its typed response
    doc = json.loads(CONTRACT.read_text())
    for item in doc["paths"].values():
        for operation in item.values():
            tag = operation["tags"][0].replace("-", "_")
            name = "".join(f"_{c.lower()}" if c.isupper() else c for c in operation["operationId"])
            function = _module(f"api.{tag}.{name}")
            assert hasattr(function, "sync_detailed"), f"{operation['operationId']} is missing from the client"


def _operator_key(database_url: str) -> str:
    created = subprocess.run(
        [GATEWAY, "tenant", "create", f"Generated client {uuid.uuid4().hex[:6]}", "--json"],
        env={**os.environ, "GATEWAY_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return str(json.loads(created.stdout)["operator_key"])


def _ok(result: Any, model: str) -> Any:
    """The typed response model, or the problem document the gateway answered instead."""
    expected = getattr(_module("models"), model)
    assert isinstance(result, expected), f"expected {model}, got {result!r}"
    return result


def test_supplier_stock_sync_and_channel_order_with_the_generated_client(
    generated: tuple[subprocess.CompletedProcess[str], Path], database_url: str, tmp_path: Path
) -> None:
    client_module = _module("client")
    m = _module("models")
    api = {
        name: _module(f"api.{tag}.{name}")
        for tag, name in [
            ("suppliers", "create_supplier"),
            ("locations", "create_location"),
            ("catalogue", "create_product"),
            ("offers", "create_offer"),
            ("channels", "create_channel"),
            ("listings", "create_listing"),
            ("api_keys", "create_api_key"),
            ("inventory", "set_inventory"),
            ("inventory", "list_levels"),
            ("orders", "create_quote"),
            ("orders", "create_order"),
            ("orders", "get_order"),
        ]
    }
    operator_key = _operator_key(database_url)
    with serving(database_url, tmp_path) as (server,):

        def client(key: str) -> Any:
            return client_module.AuthenticatedClient(base_url=server.base, token=key, raise_on_unexpected_status=True)

        with client(operator_key) as operator:
            # the operator sets up a supplier with a store, and a channel
            supplier = _ok(
                api["create_supplier"].sync(client=operator, body=m.SupplierCreate(name="Harbour Grocers")),
                "SupplierOut",
            )
            store = _ok(
                api["create_location"].sync(
                    client=operator,
                    body=m.LocationCreate(
                        supplier_id=supplier.id,
                        name="Harbour store",
                        kind=m.LocationCreateKind.STORE,
                        lat=30.2590,
                        lng=120.1490,
                        modes=[m.LocationCreateModesItem.DELIVERY],
                        prep_minutes=10,
                        service_radius_km=10.0,
                    ),
                ),
                "LocationOut",
            )
            channel = _ok(
                api["create_channel"].sync(
                    client=operator, body=m.ChannelCreate(name="Pedal City", kind=m.ChannelCreateKind.PARTNER_APP)
                ),
                "ChannelOut",
            )
            supplier_key = _ok(
                api["create_api_key"].sync(
                    client=operator,
                    body=m.ApiKeyCreate(
                        owner=m.SupplierOwner(id=supplier.id, type_="supplier"), kind=m.ApiKeyCreateKind.SECRET
                    ),
                ),
                "ApiKeyCreated",
            ).key
            channel_key = _ok(
                api["create_api_key"].sync(
                    client=operator,
                    body=m.ApiKeyCreate(
                        owner=m.ChannelOwner(id=channel.id, type_="channel"), kind=m.ApiKeyCreateKind.SECRET
                    ),
                ),
                "ApiKeyCreated",
            ).key

        sku = f"TEA-{uuid.uuid4().hex[:6].upper()}"
        with client(supplier_key) as supplier_client:
            # the supplier describes and offers the SKU, then syncs its stock count
            _ok(
                api["create_product"].sync(
                    client=supplier_client,
                    body=m.ProductCreate(title="Longjing tea", variants=[m.VariantCreate(sku=sku, title="250 g")]),
                ),
                "ProductOut",
            )
            offer = _ok(
                api["create_offer"].sync(
                    client=supplier_client,
                    body=m.OfferCreate(sku=sku, wholesale_price=m.Money(amount=6000, currency="CNY")),
                ),
                "OfferOut",
            )
            assert offer.supplier_id == supplier.id and offer.wholesale_price.amount == 6000

            count = m.SetRequest(items=[m.SetItem(location_id=store.id, sku=sku, on_hand=12, sequence=1)])
            synced = _ok(
                api["set_inventory"].sync(client=supplier_client, body=count, idempotency_key=str(uuid.uuid4())),
                "BatchResult",
            )
            assert (synced.applied, synced.refused) == (1, 0)
            (applied,) = synced.results
            assert applied.status == m.ItemResultStatus.APPLIED and applied.level.on_hand == 12
            # a count that arrives late (same sequence) is refused in its result, never applied
            stale = m.SetRequest(items=[m.SetItem(location_id=store.id, sku=sku, on_hand=99, sequence=1)])
            refused = _ok(api["set_inventory"].sync(client=supplier_client, body=stale), "BatchResult")
            assert (refused.applied, refused.refused) == (0, 1)
            assert refused.results[0].status == m.ItemResultStatus.REFUSED and refused.results[0].error.code

        with client(channel_key) as channel_client:
            # the channel lists the SKU at its price, quotes a basket to a destination and orders it
            _ok(
                api["create_listing"].sync(
                    client=channel_client, body=m.ListingCreate(sku=sku, price=m.Money(amount=8800, currency="CNY"))
                ),
                "ListingOut",
            )
            quote = _ok(
                api["create_quote"].sync(
                    client=channel_client,
                    body=m.QuoteCreate(
                        lines=[m.LineIn(sku=sku, qty=2)], destination=m.Destination(lat=30.2640, lng=120.1550)
                    ),
                ),
                "QuoteOut",
            )
            assert quote.total.amount >= 2 * 8800 and [s.location_id for s in quote.shipments] == [store.id]
            key = str(uuid.uuid4())
            placement = m.OrderCreate(quote_id=quote.id, customer=m.Customer(name="Li Wei", phone="+86 571 0000"))
            order = _ok(
                api["create_order"].sync(client=channel_client, body=placement, idempotency_key=key), "OrderOut"
            )
            assert order.quote_id == quote.id and order.status == m.OrderOutStatus.PENDING
            (fulfilment,) = order.fulfilment_orders
            assert isinstance(fulfilment, m.FulfilmentOrderOut) and fulfilment.location_id == store.id
            assert [(line.sku, line.qty) for line in fulfilment.lines] == [(sku, 2)]
            # a retry (same key, same request) is the same order, not a second one
            again = _ok(
                api["create_order"].sync(client=channel_client, body=placement, idempotency_key=key), "OrderOut"
            )
            assert again.id == order.id
            read = _ok(api["get_order"].sync(client=channel_client, order_id=order.id), "OrderOut")
            assert read.id == order.id and read.total.amount == quote.total.amount

        with client(supplier_key) as supplier_client:
            levels = _ok(api["list_levels"].sync(client=supplier_client, sku=sku), "LevelPage")
            (level,) = levels.data
            assert isinstance(level, m.LevelOut) and level.on_hand == 12 and level.reserved + level.committed == 2
