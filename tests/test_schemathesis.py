"""Schemathesis over every operation of the published contract, in-process, all checks.

The schema is the committed contract (`openapi/openapi.json`, which `test_contract.py` holds
equal to what the app generates; `test_served_contract_is_the_committed_one` holds it equal to
what the app serves). Calls reach the session app of conftest in-process: Schemathesis' ASGI
transport runs it on its own event loop (a thread), and the storage engines keep their
connections per loop, so both loops share the one test database.

The caller is the operator of a demo tenant (suppliers, a channel, keys, events), so that ids
drawn from the tenant's real objects reach the handlers' logic, not only their 404s.
"""

from __future__ import annotations

import copy
import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, assume, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.demo import build_demo
from gateway.oauth.scopes import ALL_SCOPES
from gateway.tenancy import credentials
from gateway.tenancy import services as tenancy
from gateway.tenancy.principal import Principal
from gateway.tenancy.schemas import ApiKeyCreate, OperatorOwner

#: modest by default (the whole module takes seconds); raise them for a deeper hunt
MAX_EXAMPLES = int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "40"))
STATEFUL_EXAMPLES = int(os.environ.get("GATEWAY_FUZZ_STATEFUL_EXAMPLES", "15"))
CONTRACT = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"
DOCUMENT = json.loads(CONTRACT.read_text())

#: The fuzzer's credential. Schemathesis builds its coverage cases (credentials applied) while
#: pytest collects, before any fixture has run, so the key is chosen now and stored by `seeded`.
OPERATOR_SECRET = credentials.generate("secret")

#: filled by fixtures: the app, and real ids of the demo tenant by path-parameter name
_state: dict[str, Any] = {"ids": {}}


async def _app(scope: Any, receive: Any, send: Any) -> None:
    """The session app, reached through this stand-in: the schema is loaded at import time,
    before pytest has built the app."""
    await _state["app"](scope, receive, send)


schema = schemathesis.openapi.from_dict(copy.deepcopy(DOCUMENT))  # Schemathesis adds to what it loads
schema.app = _app
#: the same contract, fuzzed with an OAuth access token instead of the secret key
token_schema = schemathesis.openapi.from_dict(copy.deepcopy(DOCUMENT))
token_schema.app = _app
#: where Schemathesis' in-process calls arrive (the token's issuer must be this host)
FUZZ_HOST = "http://testserver"
TOKEN_PLACEHOLDER = "placeholder-for-the-access-token"
TOKEN_EXAMPLES = int(os.environ.get("GATEWAY_FUZZ_TOKEN_EXAMPLES", "15"))


def _collections() -> dict[str, str]:
    """Path-parameter name → the list operation that yields such ids (the template's parent):
    `/v1/suppliers/{supplier_id}/…` → `supplier_id: /v1/suppliers`."""
    found: dict[str, str] = {}
    for path in DOCUMENT["paths"]:
        head, sep, rest = path.partition("/{")
        if sep and "get" in DOCUMENT["paths"].get(head, {}):
            found[rest.split("}", 1)[0]] = head
    return found


@pytest.fixture(scope="session")
async def seeded(client: AsyncTestClient[Litestar]) -> dict[str, Any]:
    """The demo tenant, the fuzzer's operator key in it, and its real ids by parameter name."""
    demo = await build_demo()
    principal = Principal(
        tenant_id=demo["tenant"]["id"], type="operator", owner_id=None, key_id="schemathesis", key_kind="secret"
    )
    original = credentials.generate
    credentials.generate = lambda kind: OPERATOR_SECRET  # type: ignore[assignment]
    try:
        created = await tenancy.create(principal, ApiKeyCreate(owner=OperatorOwner(), name="schemathesis"))
    finally:
        credentials.generate = original  # type: ignore[assignment]
    # the second fuzzer credential: an OAuth access token of an operator app with every scope,
    # issued at the host Schemathesis calls (a token is only good at its issuer)
    app = await client.post(
        "/v1/oauth-clients",
        json={
            "name": "schemathesis",
            "owner": {"type": "operator"},
            "grant_types": ["client_credentials"],
            "scopes": list(ALL_SCOPES),
        },
        headers={"Authorization": f"Bearer {OPERATOR_SECRET}"},
    )
    assert app.status_code == 201, app.text
    issued = await client.post(
        f"{FUZZ_HOST}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(app.json()["client_id"], app.json()["client_secret"]),
    )
    assert issued.status_code == 200, issued.text
    ids: dict[str, list[str]] = {}
    own = {created.id, app.json()["client_id"]}
    for name, collection in _collections().items():
        response = await client.get(collection, headers={"Authorization": f"Bearer {OPERATOR_SECRET}"})
        assert response.status_code == 200, response.text
        # revoking the fuzzer's own credentials would end the run, not find a bug
        ids[name] = [item["id"] for item in response.json()["data"] if item["id"] not in own]
        assert ids[name], f"the demo tenant has nothing at {collection}: seed it"
    return {
        "demo": demo,
        "fuzz_key_id": created.id,
        "fuzz_client_id": app.json()["client_id"],
        "ids": ids,
        "token": issued.json()["access_token"],
    }


@pytest.fixture(autouse=True)
def _wire(app: Litestar, seeded: dict[str, Any]) -> None:
    _state["app"] = app
    _state["ids"] = seeded["ids"]
    _state["fuzz_key_id"] = seeded["fuzz_key_id"]
    _state["fuzz_client_id"] = seeded["fuzz_client_id"]
    _state["token"] = seeded["token"]


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """A fresh `Idempotency-Key` for every call that sends one.

    Schemathesis reuses header values across generated calls, so one key arrives with
    different bodies; the contract's 422 for that is right and stays (FIELD-NOTES). A key per
    call keeps every other check meaningful.
    """
    if case.method == "POST" and case.path == "/v1/users" and isinstance(case.body, dict):
        email = case.body.get("email")
        if isinstance(email, str) and "@" in email and len(email) <= 220:
            # emails are unique in a tenant: a replayed or shrunk case would meet its own earlier
            # user (409), and Hypothesis' stateful runs call that a flaky strategy
            case.body = {**case.body, "email": f"st{uuid.uuid4().hex[:12]}.{email}"}
    if case.headers and case.headers.get("Authorization") == f"Bearer {TOKEN_PLACEHOLDER}":
        case.headers = {**case.headers, "Authorization": f"Bearer {_state['token']}"}
    if case.headers and any(name.lower() == "idempotency-key" for name in case.headers):
        headers = {k: v for k, v in case.headers.items() if k.lower() != "idempotency-key"}
        headers["Idempotency-Key"] = f"st-{uuid.uuid4().hex}"
        case.headers = headers


@schema.hook
@token_schema.hook("flatmap_path_parameters")
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
    """Half of the cases address a real object of the tenant instead of a drawn id."""
    real = {name: st.sampled_from(_state["ids"][name]) for name in path_parameters or {} if _state["ids"].get(name)}
    if not real:
        return st.just(path_parameters)
    return st.one_of(st.just(path_parameters), st.fixed_dictionaries({**path_parameters, **real}))


@schema.auth()
class OperatorKey:
    def get(self, case: Any, ctx: Any) -> str:
        return OPERATOR_SECRET

    def set(self, case: Any, data: str, ctx: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@token_schema.auth()
class OperatorToken:
    """An access token with every scope: the operations must behave as with the secret key."""

    def get(self, case: Any, ctx: Any) -> str:
        # called while pytest collects, before any token exists: `before_call` swaps it in
        return TOKEN_PLACEHOLDER

    def set(self, case: Any, data: str, ctx: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


async def test_served_contract_is_the_committed_one(client: AsyncTestClient[Litestar]) -> None:
    served = await client.get("/openapi.json")
    assert served.status_code == 200
    assert served.json() == DOCUMENT, "openapi/openapi.json differs from what the app serves: run `gateway openapi`"


def test_every_operation_is_fuzzed() -> None:
    selected = {(op.method.upper(), op.path) for op in (r.ok() for r in schema.get_all_operations())}
    published = {(m.upper(), p) for p, item in DOCUMENT["paths"].items() for m in item if m != "parameters"}
    assert selected == published


def _call_and_validate(case: Any) -> Any:
    """A negative case whose mutated path id `flatmap_path_parameters` replaced with a real one
    is no longer the negative case it was drawn as (Schemathesis still counts the path as
    invalid and reports "schema-violating request accepted"): it is not held to that check."""
    meta = getattr(case, "meta", None)
    replaced = any(value in _state["ids"].get(name, ()) for name, value in (case.path_parameters or {}).items())
    negative = meta is not None and meta.generation.mode.is_negative
    excluded = [schemathesis.checks.negative_data_rejection] if negative and replaced else []
    return case.call_and_validate(excluded_checks=excluded)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_honours_the_contract(case: Any) -> None:
    _call_and_validate(case)


@token_schema.parametrize()
@settings(max_examples=TOKEN_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_honours_the_contract_with_a_token(case: Any) -> None:
    if (
        case.path.startswith("/v1/oauth-clients/{client_id}/")
        and _state["fuzz_client_id"] in (case.path_parameters or {}).values()
    ):
        return  # deactivating or re-keying the fuzzer's own app would end the run, not find a bug
    response = _call_and_validate(case)
    if (case.headers or {}).get("Authorization") == f"Bearer {_state['token']}":
        _token_statuses.add(response.status_code)


_token_statuses: set[int] = set()


def test_the_token_run_reached_the_operations() -> None:
    """The run above passes with 401s too: make sure the token was accepted, and refused nowhere."""
    if not _token_statuses:
        pytest.skip("the token run did not run in this session")
    assert {200, 201} & _token_statuses, sorted(_token_statuses)
    assert 401 not in _token_statuses, "a call with the fuzzer's valid token was refused as unauthenticated"


#: (path template, status) of every call the stateful run made
_reached: set[tuple[str, int]] = set()


class StatefulRun(schema.as_state_machine()):  # type: ignore[misc]
    """Chains calls along the links Schemathesis infers (create → get/patch/revoke …) and the
    ones the contract publishes (order → fulfilment order → its transitions)."""

    def after_call(self, response: Any, case: Any) -> None:
        _reached.add((case.path, response.status_code))

    def before_call(self, case: Any) -> None:
        # A link may hand the fuzzer's own key id (it is in the key listing) to `…/revoke`:
        # that would end the run, not find a bug.
        assume(not (case.path.endswith("/revoke") and _state["fuzz_key_id"] in (case.path_parameters or {}).values()))


def test_stateful_sequences_honour_the_contract() -> None:
    StatefulRun.run(
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.generate],
            stateful_step_count=6,
        )
    )
    transitions = {path for path, _ in _reached if path.startswith("/v1/fulfilment-orders/{fulfilment_id}/")}
    assert transitions, f"the stateful run never reached a fulfilment transition: {sorted(_reached)}"
