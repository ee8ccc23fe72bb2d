"""Schemathesis over the storefront operations as a partner's page calls them: with the
demo channel's publishable key, from an origin the key allows (`test_schemathesis.py` fuzzes
every operation with the operator's secret key). The operations are those the contract marks
`x-publishable-key: true`; all default checks, in process.
"""

from __future__ import annotations

import copy
import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.demo import build_demo
from gateway.tenancy import credentials
from gateway.tenancy import services as tenancy
from gateway.tenancy.principal import Principal
from gateway.tenancy.schemas import ApiKeyCreate, ChannelOwner

MAX_EXAMPLES = int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "40"))
CONTRACT = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"
DOCUMENT = json.loads(CONTRACT.read_text())
ORIGIN = "https://fuzz.partner.example"
ID = re.compile(r"^[a-z]+_[0-9a-hjkmnp-tv-z]{26}$")
#: chosen now: Schemathesis applies credentials while pytest collects (see test_schemathesis.py)
PUBLISHABLE = credentials.generate("publishable")
PUBLISHABLE_OPERATIONS = sorted(
    op["operationId"]
    for item in DOCUMENT["paths"].values()
    for method, op in item.items()
    if method != "parameters" and op.get("x-publishable-key")
)

_state: dict[str, Any] = {"ids": {}}


async def _app(scope: Any, receive: Any, send: Any) -> None:
    await _state["app"](scope, receive, send)


schema = schemathesis.openapi.from_dict(copy.deepcopy(DOCUMENT)).include(operation_id=PUBLISHABLE_OPERATIONS)
schema.app = _app


@pytest.fixture(scope="module")
async def storefront_seeded(client: AsyncTestClient[Litestar]) -> dict[str, Any]:
    """The demo tenant, the fuzzer's publishable key for its channel, real listing and cart ids."""
    demo = await build_demo()
    operator = Principal(
        tenant_id=demo["tenant"]["id"], type="operator", owner_id=None, key_id="schemathesis", key_kind="secret"
    )
    original = credentials.generate
    credentials.generate = lambda kind: PUBLISHABLE  # type: ignore[assignment]
    try:
        await tenancy.create(
            operator,
            ApiKeyCreate(owner=ChannelOwner(id=demo["channel"]["id"]), kind="publishable", allowed_origins=[ORIGIN]),
        )
    finally:
        credentials.generate = original  # type: ignore[assignment]
    server = {"Authorization": f"Bearer {demo['channel']['secret_key']}"}
    listings = (await client.get("/v1/storefront/products", headers=server)).json()["data"]
    carts = (await client.get("/v1/storefront/carts", headers=server)).json()["data"]
    assert listings and carts, "the demo must list products and hold a cart"
    return {"listing_id": [item["id"] for item in listings], "cart_id": [cart["id"] for cart in carts]}


@pytest.fixture(autouse=True)
def _wire(app: Litestar, storefront_seeded: dict[str, Any]) -> None:
    _state["app"] = app
    _state["ids"] = storefront_seeded


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """A fresh `Idempotency-Key` per call (as test_schemathesis.py's global hook does; running
    both is harmless)."""
    if case.headers and any(name.lower() == "idempotency-key" for name in case.headers):
        headers = {k: v for k, v in case.headers.items() if k.lower() != "idempotency-key"}
        headers["Idempotency-Key"] = f"st-{uuid.uuid4().hex}"
        case.headers = headers


#: (operationId, status) of every call the fuzzer made with the publishable key
_answered: set[tuple[str, int]] = set()


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    operation_id = case.operation.definition.raw.get("operationId")
    if operation_id in PUBLISHABLE_OPERATIONS:
        _answered.add((operation_id, response.status_code))


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
    """Half of the cases address a real listing or cart; only where the drawn id was a valid one
    (a negative case's malformed id must stay malformed, or a valid request would be judged as
    one that should have been refused)."""
    real = {
        name: st.sampled_from(_state["ids"][name])
        for name, value in (path_parameters or {}).items()
        if _state["ids"].get(name) and isinstance(value, str) and ID.match(value)
    }
    if not real:
        return st.just(path_parameters)
    return st.one_of(st.just(path_parameters), st.fixed_dictionaries({**path_parameters, **real}))


@schema.auth()
class PublishableKey:
    def get(self, case: Any, ctx: Any) -> str:
        return PUBLISHABLE

    def set(self, case: Any, data: str, ctx: Any) -> None:
        # the page's origin with the key: a publishable key is refused from anywhere else
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}", "Origin": ORIGIN}


def test_the_storefront_operations_are_the_ones_marked_publishable() -> None:
    selected = {op.definition.raw["operationId"] for op in (r.ok() for r in schema.get_all_operations())}
    assert selected == set(PUBLISHABLE_OPERATIONS)
    assert {
        "listStorefrontProducts",
        "getStorefrontProduct",
        "listPickupPoints",
        "createCart",
        "getCart",
        "releaseCart",
    } <= selected


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_storefront_operations_honour_the_contract_with_a_publishable_key(case: Any) -> None:
    case.call_and_validate()


def test_the_fuzzer_got_through_to_the_handlers() -> None:
    """Not only refusals: the key and its origin let the fuzzer's calls in (a wrong origin would
    have answered 403 to everything, which the checks alone would accept)."""
    succeeded = {operation for operation, status in _answered if status < 300}
    assert {"listStorefrontProducts", "getStorefrontProduct", "listPickupPoints"} <= succeeded, sorted(_answered)
