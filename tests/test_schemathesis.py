"""Schemathesis over every operation of the published contract, in-process.

The app under test is the session app of conftest. Schemathesis' ASGI transport runs it in
its own event loop (a thread with an anyio portal); the storage engines keep connections per
loop, so both loops share the one database.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from litestar import Litestar

from gateway.demo import build_demo

MAX_EXAMPLES = 30


@pytest.fixture(scope="session")
async def seeded(database: Any) -> dict[str, Any]:
    """A demo tenant (three suppliers, a channel, keys): GETs by id have real objects to find."""
    return await build_demo()


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """A fresh `Idempotency-Key` for every call that has one.

    Schemathesis reuses header values across generated calls; the contract answers 422 to a key
    reused with another body, which is right and must stay. One key per call keeps the check
    on everything else meaningful.
    """
    if case.headers and any(name.lower() == "idempotency-key" for name in case.headers):
        headers = {k: v for k, v in case.headers.items() if k.lower() != "idempotency-key"}
        headers["Idempotency-Key"] = f"st-{uuid.uuid4().hex}"
        case.headers = headers


def _bearer_auth(operator_key: str) -> type:
    class OperatorKey:
        def get(self, case: Any, ctx: Any) -> str:
            return operator_key

        def set(self, case: Any, data: str, ctx: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    return OperatorKey


@pytest.fixture(scope="session")
def api_schema(app: Litestar, seeded: dict[str, Any]) -> Any:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.auth(_bearer_auth(seeded["operator_key"]))
    return schema


lazy_schema = schemathesis.pytest.from_fixture("api_schema")


@lazy_schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_honours_the_contract(case: Any) -> None:
    case.call_and_validate()
