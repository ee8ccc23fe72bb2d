"""Tenant isolation, probed along every operation of the published contract (DESIGN §3).

Nothing here names a resource: the probes are generated from `openapi/openapi.json`, so an
operation added later is covered without new test code. What they check:

- another tenant's object is indistinguishable from one that does not exist: every method of
  every path with an id, called by tenant B's operator with an id of tenant A's, answers
  exactly as with a well-formed id that exists nowhere: 404, problem+json, the same body once
  the id itself is masked out of the `detail` that echoes it;
- the same for ids given in a query (`?owner_id=`, `?after=`) or a request body
  (`{"owner": {"id": …}}`): an id of A changes nothing for B, and a body naming one is refused;
- no listing of B shows an id of A;
- within A, a supplier or channel gets the same answer for the objects it may not see as for
  missing ones (a supplier sees only itself: `GET /v1/suppliers/{another}` is a 404);
- after every probe, A's data is exactly as before.

Tenant A is `gateway demo`'s tenant: the demo must have something in every collection (a
collection it leaves empty fails the test, so that the demo keeps up with the API).

The well-formed unknown ids keep the kind prefix and the creation time of the real id they
stand for and change only the random part, so that even a cursor (`?after=`) compares the same.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import secrets
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import find
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import AsyncTestClient

from channels.routing.schemas import PolicyIn
from channels.routing.services import put_policy
from gateway.clock import utcnow
from gateway.demo import build_demo
from gateway.oauth.scopes import ALL_SCOPES
from gateway.storage import db
from gateway.tenancy.services import create_tenant

CONTRACT = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"
DOCUMENT: dict[str, Any] = json.loads(CONTRACT.read_text())
METHODS = ("get", "put", "post", "patch", "delete")
ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
#: how an id pattern ends (`gateway.ids.pattern`): 26 characters of lower-case Crockford base32
ID_BODY = "_[0-9a-hjkmnp-tv-z]{26}$"
ID_TIME_CHARS = 10  # the first 10 of the 26 encode the creation time (ULID)
PARAM = re.compile(r"\{([^}]+)\}")


# -- reading the contract ------------------------------------------------------------------


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = DOCUMENT["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def operation(method: str, path: str) -> dict[str, Any]:
    return DOCUMENT["paths"][path][method.lower()]  # type: ignore[no-any-return]


def parameters(method: str, path: str) -> list[dict[str, Any]]:
    item = DOCUMENT["paths"][path]
    return [*item.get("parameters", []), *operation(method, path).get("parameters", [])]


def body_schema(method: str, path: str) -> dict[str, Any] | None:
    body = operation(method, path).get("requestBody")
    return body["content"]["application/json"]["schema"] if body else None


def is_id_schema(schema: dict[str, Any]) -> bool:
    return str(schema.get("pattern", "")).endswith(ID_BODY)


def mentions_ids(schema: Any, seen: frozenset[str] = frozenset()) -> bool:
    """Whether a body schema has an id-valued field anywhere."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            if schema["$ref"] in seen:
                return False
            return mentions_ids(resolve(schema), seen | {schema["$ref"]})
        return is_id_schema(schema) or any(mentions_ids(value, seen) for value in schema.values())
    if isinstance(schema, list):
        return any(mentions_ids(value, seen) for value in schema)
    return False


OPERATIONS = [  # every operation addressed by id
    (method.upper(), path)
    for path, item in DOCUMENT["paths"].items()
    for method in item
    if method in METHODS and PARAM.search(path)
]
QUERY_ID_INPUTS = [  # operations that take ids in their query
    (method.upper(), path)
    for path, item in DOCUMENT["paths"].items()
    for method in item
    if method in METHODS
    and any(p["in"] == "query" and is_id_schema(p.get("schema", {})) for p in parameters(method, path))
]
BODY_ID_INPUTS = [  # operations without a path id that take ids in their body
    (method.upper(), path)
    for path, item in DOCUMENT["paths"].items()
    for method in item
    if method in METHODS and not PARAM.search(path) and mentions_ids(body_schema(method, path))
]
LISTINGS = [  # collections: a GET that needs a query parameter (a point) answers about it, not a collection
    path
    for path, item in DOCUMENT["paths"].items()
    if "get" in item
    and not PARAM.search(path)
    and not any(p.get("required") and p["in"] == "query" for p in parameters("get", path))
    and item["get"].get("security", DOCUMENT.get("security"))
    and "data"
    in resolve(
        # a CSV or a picture is no listing (`GET /v1/statements/csv`): its query ids are probed below
        item["get"]["responses"]["200"]["content"].get("application/json", {"schema": {}})["schema"]
    ).get("properties", {})
]


# -- minimal valid requests ----------------------------------------------------------------


def merge(base: dict[str, Any], option: dict[str, Any]) -> dict[str, Any]:
    """`base` (without its `oneOf`) and one of its options, properties merged one by one."""
    merged = {k: v for k, v in base.items() if k not in ("oneOf", "anyOf")}
    for key, value in resolve(option).items():
        if key == "properties":
            merged["properties"] = {
                name: {**resolve(merged.get("properties", {}).get(name, {})), **resolve(sub)}
                for name, sub in {**merged.get("properties", {}), **value}.items()
            }
        elif key == "required":
            merged["required"] = sorted({*merged.get("required", []), *value})
        else:
            merged[key] = value
    return merged


#: schema title → optional fields a request cannot do without in practice (one of two forms:
#: an order from lines, not from a quote, so that a pickup point id can carry the probe)
ALSO_REQUIRED: dict[str, set[str]] = {"OrderCreate": {"lines"}}


class Sampler:
    """Small values valid for a schema: required properties only, minimums, first choices;
    and, when `ids` is given, an id field anywhere set to one of those that fits it."""

    def __init__(
        self, ids: list[str] | None = None, choice: int = 0, known: dict[str, list[str]] | None = None
    ) -> None:
        self.ids = ids or []
        #: property name → values the tenant already has for it (a `sku` must name a real one)
        self.known = known or {}
        #: which value of each enum to take (modulo its length): other combinations to try
        self.choice = choice
        self.placed: str | None = None

    def _known(self, name: str, schema: dict[str, Any]) -> str | None:
        """A value the tenant already has for this field: a real sku; and, once the probed id
        is placed, real ids for the request's other id fields (a transfer's destination)."""
        schema = resolve(schema)
        if schema.get("type") != "string" or "enum" in schema or "const" in schema:
            return None
        if is_id_schema(schema) and not self.placed:
            return None
        pattern = schema.get("pattern")
        fitting = [v for v in self.known.get(name, []) if not pattern or re.search(pattern, v)]
        return fitting[self.choice % len(fitting)] if fitting else None

    def sample(self, schema: dict[str, Any]) -> Any:
        schema = resolve(schema)
        if schema.get("type") == "null":  # also where an option narrows a nullable field to null
            return None
        for key in ("oneOf", "anyOf"):
            if key in schema:
                options = [o for o in schema[key] if resolve(o).get("type") != "null"]
                for option in options:  # prefer an option that takes an id, when one is wanted
                    trial = Sampler(self.ids, self.choice, self.known)
                    value = trial.sample(merge(schema, option))
                    if trial.placed or not self.ids:
                        self.placed = self.placed or trial.placed
                        return value
                return self.sample(merge(schema, options[0])) if options else None
        if "allOf" in schema:
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                merged = merge(merged, part)
            return self.sample(merged)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            values = [value for value in schema["enum"] if value is not None]
            return values[self.choice % len(values)]
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next(k for k in kind if k != "null")
        if kind == "object" or "properties" in schema:
            value: dict[str, Any] = {}
            required = set(schema.get("required", [])) | ALSO_REQUIRED.get(schema.get("title", ""), set())
            for name, sub in schema.get("properties", {}).items():
                if name in required:
                    value[name] = self._known(name, sub) or self.sample(sub)
                elif self.ids and not self.placed and mentions_ids(sub):
                    # an optional id field goes in only to carry the probed id: a made-up id
                    # in another optional field would refuse the request for the wrong reason
                    trial = Sampler(self.ids, self.choice, self.known)
                    candidate = trial.sample(sub)
                    if trial.placed:
                        self.placed = trial.placed
                        value[name] = candidate
            return value
        if kind == "array":
            count = max(schema.get("minItems", 0), 1 if self.ids and mentions_ids(schema.get("items", {})) else 0)
            return [self.sample(schema.get("items", {})) for _ in range(count)]
        if kind in ("integer", "number"):
            low = schema.get("minimum", schema["exclusiveMinimum"] + 1 if "exclusiveMinimum" in schema else 1)
            number = max(math.ceil(low), 1)
            if "maximum" in schema:
                number = min(number, math.floor(schema["maximum"]))
            return int(number) if kind == "integer" else float(number)
        if kind == "boolean":
            return False
        if is_id_schema(schema) and not self.placed:
            fitting = [ident for ident in self.ids if re.search(schema["pattern"], ident)]
            if fitting:
                self.placed = fitting[0]
                return fitting[0]
        return _string(schema)


def _string(schema: dict[str, Any]) -> str:
    if schema.get("format") == "date-time":
        return "2026-01-01T00:00:00Z"
    low, high = schema.get("minLength", 1), schema.get("maxLength", 64)

    def fits(value: str) -> bool:
        return low <= len(value) <= high and (
            "pattern" not in schema or re.search(schema["pattern"], value) is not None
        )

    for candidate in ("probe", "x", "a.b", "0", "probe" + "x" * max(low - 5, 0), "probe@example.com"):
        if fits(candidate):
            return candidate
    return find(st.from_regex(schema["pattern"], fullmatch=True), fits)


def unknown_id_like(real_id: str, pattern: str | None) -> str:
    """A well-formed id of the same kind and creation time as `real_id`, that exists nowhere."""
    prefix, _, tail = real_id.rpartition("_")
    candidate = f"{prefix}_{tail[:ID_TIME_CHARS]}" + "".join(secrets.choice(ID_ALPHABET) for _ in tail[ID_TIME_CHARS:])
    assert pattern, f"the id parameter for {real_id} publishes no pattern"
    assert re.search(pattern, real_id), f"{real_id} does not match its published pattern {pattern}"
    assert re.search(pattern, candidate), f"{candidate} does not match {pattern}: ids changed shape?"
    return candidate


# -- calling the API -----------------------------------------------------------------------


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def list_all(client: AsyncTestClient[Litestar], path: str, key: str) -> list[dict[str, Any]] | None:
    """Every item of a listing, following the cursor; None when the caller may not list it."""
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 200}
    while True:
        response = await client.get(path, params=params, headers=bearer(key))
        if response.status_code == 403:
            return None
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text}"
        page = response.json()
        items += page["data"]
        if not page.get("has_more"):
            return items
        params["after"] = page["next_cursor"]


async def call(
    client: AsyncTestClient[Litestar],
    method: str,
    template: str,
    key: str,
    path_values: dict[str, str] | None = None,
    query: dict[str, Any] | None = None,
    body: Any = None,
) -> Any:
    """`method template` as `key`, with a minimal valid request unless told otherwise."""
    path = PARAM.sub(lambda m: (path_values or {})[m.group(1)], template)
    headers = bearer(key)
    params = dict(query or {})
    for parameter in parameters(method, template):
        if parameter["in"] == "header" and parameter["name"].lower() == "idempotency-key":
            headers["Idempotency-Key"] = f"iso-{uuid.uuid4().hex}"
        elif parameter.get("required") and parameter["in"] == "query" and parameter["name"] not in params:
            params[parameter["name"]] = Sampler().sample(parameter["schema"])
    kwargs: dict[str, Any] = {"params": params, "headers": headers}
    request_body = operation(method, template).get("requestBody")
    if body is not None:
        kwargs["json"] = body
    elif request_body and request_body.get("required"):
        kwargs["json"] = Sampler().sample(body_schema(method, template) or {})
    return await client.request(method, path, **kwargs)


def masked(response: Any, ident: str) -> Any:
    """The answer with the probed id masked: a problem's `detail` names the id it was asked for."""
    return json.loads(response.text.replace(ident, "<id>")) if response.content else None


IGNORED_HEADERS = {"x-request-id", "ratelimit", "ratelimit-policy", "content-length", "date"}


def assert_indistinguishable(on_real: Any, on_unknown: Any, real_id: str, unknown_id: str, what: str) -> None:
    assert on_real.status_code == on_unknown.status_code, (
        f"{what}: {on_real.status_code} with {real_id}, {on_unknown.status_code} with an id that exists "
        f"nowhere: {on_real.text}"
    )
    assert on_real.headers.get("content-type") == on_unknown.headers.get("content-type"), what
    assert masked(on_real, real_id) == masked(on_unknown, unknown_id), f"{what}: bodies differ"
    assert {h for h in on_real.headers if h not in IGNORED_HEADERS} == {
        h for h in on_unknown.headers if h not in IGNORED_HEADERS
    }, f"{what}: headers differ"


def assert_not_found_alike(on_real: Any, on_unknown: Any, real_id: str, unknown_id: str, what: str) -> None:
    assert on_real.status_code == 404, f"{what}: {on_real.status_code} {on_real.text}"
    assert on_real.headers.get("content-type") == "application/problem+json", what
    assert_indistinguishable(on_real, on_unknown, real_id, unknown_id, what)


# -- the world: tenant A (the demo) and tenant B (empty) ------------------------------------


def readers(demo: dict[str, Any]) -> list[tuple[str, str]]:
    """Everyone in a demo tenant that can call the API: the operator first, then the others."""
    return [("operator", demo["operator_key"]), *((label, key) for label, key, _ in principals(demo))]


class World:
    def __init__(
        self, client: AsyncTestClient[Litestar], demo: dict[str, Any], other_key: str, third: dict[str, Any]
    ) -> None:
        self.client = client
        self.demo = demo
        self.a_key: str = demo["operator_key"]
        self.b_key = other_key
        self.b_token = ""
        self.a_readers = readers(demo)
        #: tenant C, another demo tenant: it shows which requests work with a tenant's own ids
        #: (and so is changed by that), then is the victim of B's requests with its ids
        self.c_readers = readers(third)
        self.third = third

    async def feeds_settled(self) -> None:
        """Wait until each tenant's event feed shows every event committed for it. The feed
        holds back events behind the oldest running transaction (on PostgreSQL, of the whole
        server), so a snapshot taken while another database's transaction runs would see the
        feed grow later: the clock's doing, not another tenant's."""
        for demo in (self.demo, self.third):
            rows = await db().fetch("SELECT COUNT(*) AS n FROM events WHERE tenant_id = ?", demo["tenant"]["id"])
            for _ in range(600):
                shown = await list_all(self.client, "/v1/events", demo["operator_key"])
                if shown is None or len(shown) >= rows[0]["n"]:
                    break
                await asyncio.sleep(0.1)

    async def snapshot(self, who: list[tuple[str, str]] | None = None) -> dict[str, Any]:
        """Every listing of A (or of `who`), as each of its principals sees it."""
        await self.feeds_settled()
        seen: dict[str, Any] = {}
        for label, key in who or self.a_readers:
            for path in LISTINGS:
                items = await list_all(self.client, path, key)
                if items is not None:
                    seen[f"{label} GET {path}"] = items
        return seen

    async def all_ids(self, snapshot: dict[str, Any]) -> list[str]:
        return sorted({item["id"] for items in snapshot.values() for item in items if "id" in item})

    async def ids_for(self, method: str, template: str) -> dict[str, str]:
        """A real id of A for each path parameter, found in its parent collection by the first
        principal of A that may list it: `/v1/suppliers/{supplier_id}/deactivate` → `GET /v1/suppliers`."""
        values: dict[str, str] = {}
        for match in PARAM.finditer(template):
            name = match.group(1)
            parent = template[: match.start()].rstrip("/")
            assert "get" in DOCUMENT["paths"].get(parent, {}), (
                f"{method} {template}: no GET {parent} to find a {name} in; teach this test where to find one"
            )
            collection = PARAM.sub(lambda m: values[m.group(1)], parent)
            for _, key in self.a_readers:
                items = await list_all(self.client, collection, key)
                if items is not None:
                    break
            assert items, f"tenant A has nothing at GET {collection}: the demo must create some (for {template})"
            values[name] = items[0]["id"]
        return values


def principals(demo: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(label, credential, owner id) of every supplier and channel the demo hands out: secret
    keys, and the OAuth access token of the channel's app (token principals are probed too)."""
    found = [(f"supplier {s['name']}", s["secret_key"], s["id"]) for s in demo["suppliers"]]
    found.append((f"channel {demo['channel']['name']}", demo["channel"]["secret_key"], demo["channel"]["id"]))
    if demo["channel"].get("access_token"):
        found.append(
            (f"channel {demo['channel']['name']} (OAuth token)", demo["channel"]["access_token"], demo["channel"]["id"])
        )
    return found


async def access_token(client: AsyncTestClient[Litestar], client_id: str, client_secret: str) -> str:
    """A client-credentials token of an app (acting for the app's owner, with its scopes)."""
    response = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, client_secret)
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture(scope="module")
async def world(client: AsyncTestClient[Litestar]) -> World:
    served = await client.get("/openapi.json")
    assert served.json() == DOCUMENT, "openapi/openapi.json is not what the app serves: run `gateway openapi`"
    demo = await build_demo()
    other = await create_tenant("Tenant B")
    third = await build_demo()
    for world_demo in (demo, third):
        oauth = world_demo["oauth"]
        world_demo["channel"]["access_token"] = await access_token(client, oauth["client_id"], oauth["client_secret"])
    for tenant_id in (demo["tenant"]["id"], third["tenant"]["id"]):
        await _stop_the_clock(tenant_id)
    world = World(client, demo, other.operator_key, third)
    # B's operator app with every scope: a token reaches no further into A than B's key does
    app = await client.post(
        "/v1/oauth-clients",
        json={
            "name": "B's app",
            "owner": {"type": "operator"},
            "grant_types": ["client_credentials"],
            "scopes": list(ALL_SCOPES),
        },
        headers=bearer(other.operator_key),
    )
    assert app.status_code == 201, app.text
    world.b_token = await access_token(client, app.json()["client_id"], app.json()["client_secret"])
    return world


async def _stop_the_clock(tenant_id: str) -> None:
    """These probes compare snapshots of a tenant taken minutes apart: its quotes must not
    expire and its orders must not be re-routed for a missed deadline meanwhile (the clock's
    doing, not another tenant's)."""
    policy = msgspec.structs.asdict(PolicyIn(acceptance_deadline_minutes=10080, quote_ttl_seconds=86400))
    policy.pop("version")
    policy["delivery_fees"] = msgspec.structs.asdict(policy["delivery_fees"])
    await put_policy(tenant_id, policy, None)  # and what the probes create holds still too
    later = utcnow() + timedelta(days=30)
    await db().fetch("UPDATE quotes SET expires_at = ? WHERE tenant_id = ?", later, tenant_id)
    await db().fetch("UPDATE reservations SET expires_at = ? WHERE tenant_id = ?", later, tenant_id)
    await db().fetch("UPDATE fulfilment_orders SET accept_by = ? WHERE tenant_id = ?", later, tenant_id)


@pytest.fixture(scope="module")
async def a_before(world: World) -> dict[str, Any]:
    return await world.snapshot()


# -- probes ------------------------------------------------------------------------------


def _param_pattern(method: str, template: str, name: str) -> str | None:
    parameter = next(p for p in parameters(method, template) if p["name"] == name and p["in"] == "path")
    return parameter.get("schema", {}).get("pattern")  # type: ignore[no-any-return]


@pytest.mark.parametrize(("method", "template"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
async def test_another_tenants_object_is_indistinguishable_from_none(
    world: World, a_before: dict[str, Any], method: str, template: str
) -> None:
    a_ids = await world.ids_for(method, template)
    unknown = {name: unknown_id_like(value, _param_pattern(method, template, name)) for name, value in a_ids.items()}

    on_a = await call(world.client, method, template, world.b_key, path_values=a_ids)
    on_none = await call(world.client, method, template, world.b_key, path_values=unknown)

    last = list(a_ids)[-1]
    assert_not_found_alike(on_a, on_none, a_ids[last], unknown[last], f"{method} {template} as B")
    assert await world.snapshot() == a_before, f"{method} {template} as B changed tenant A's data"


@pytest.mark.parametrize(("method", "path"), QUERY_ID_INPUTS, ids=[f"{m} {p}" for m, p in QUERY_ID_INPUTS])
async def test_another_tenants_ids_in_a_query_change_nothing(
    world: World, a_before: dict[str, Any], method: str, path: str
) -> None:
    a_ids = await world.all_ids(a_before)
    if PARAM.search(path):  # a path of A's is a 404 anyway: B would have to address its own objects
        pytest.fail(f"{method} {path}: ids in both path and query; extend this probe to use B's own objects")
    for parameter in parameters(method, path):
        pattern = parameter.get("schema", {}).get("pattern")
        if parameter["in"] != "query" or not is_id_schema(parameter.get("schema", {})):
            continue
        fitting = [ident for ident in a_ids if re.search(pattern, ident)]
        assert fitting, f"tenant A has no id for ?{parameter['name']}= of {method} {path}: the demo must create one"
        for ident in _one_per_kind(fitting):
            unknown = unknown_id_like(ident, pattern)
            on_a = await call(world.client, method, path, world.b_key, query={parameter["name"]: ident})
            on_none = await call(world.client, method, path, world.b_key, query={parameter["name"]: unknown})
            what = f"{method} {path}?{parameter['name']}={ident} as B"
            assert_indistinguishable(on_a, on_none, ident, unknown, what)
            leaked = [other for other in a_ids if other in on_a.text.replace(ident, "")]
            assert not leaked, f"{what} shows ids of A: {leaked}"
    assert await world.snapshot() == a_before, f"{method} {path} as B changed tenant A's data"


def _one_per_kind(ids: list[str]) -> list[str]:
    kinds: dict[str, str] = {}
    for ident in ids:
        kinds.setdefault(ident.rpartition("_")[0], ident)
    return list(kinds.values())


@pytest.mark.parametrize(("method", "path"), BODY_ID_INPUTS, ids=[f"{m} {p}" for m, p in BODY_ID_INPUTS])
async def test_a_body_that_works_with_a_tenants_own_id_is_refused_to_another(
    world: World, a_before: dict[str, Any], method: str, path: str
) -> None:
    """Tenant C finds a request naming one of its objects that it may make (a key for one of
    its suppliers); the same request from B is refused, and exactly as if the object did not
    exist; C's data is left as it was."""
    schema = body_schema(method, path)
    assert schema is not None
    c_snapshot = await world.snapshot(world.c_readers)
    c_ids = await world.all_ids(c_snapshot)
    known = _known_values(c_snapshot)
    patterns = _id_patterns(schema)
    working: tuple[Any, str] | None = None
    evidence: tuple[Any, str] | None = None
    tried: list[str] = []
    for ident in _one_per_kind([i for i in c_ids if any(re.search(p, i) for p in patterns)]):
        for choice in range(12):
            sampler = Sampler([ident], choice, known)
            body = sampler.sample(schema)
            if not sampler.placed or json.dumps(body) in tried:
                continue
            tried.append(json.dumps(body))
            for _, key in world.c_readers:
                response = await call(world.client, method, path, key, body=body)
                if 200 <= response.status_code < 300:
                    working = (body, ident)
                    break
                if evidence is None and response.status_code not in (403, 404) and response.status_code < 500:
                    # refused for another reason (a price no supplier can fill, say): the id was
                    # accepted if a well-formed unknown one is "not found" in the same request
                    stand_in = unknown_id_like(ident, next(p for p in patterns if re.search(p, ident)))
                    swapped = json.loads(json.dumps(body).replace(ident, stand_in))
                    if (await call(world.client, method, path, key, body=swapped)).status_code == 404:
                        evidence = (body, ident)
            if working:
                break
        if working:
            break
    working = working or evidence
    assert working, f"{method} {path}: no principal of tenant C could make any of {tried}; teach this probe"
    body, ident = working
    pattern = next(p for p in patterns if re.search(p, ident))
    unknown = unknown_id_like(ident, pattern)
    c_before = await world.snapshot(world.c_readers)

    on_c = await call(world.client, method, path, world.b_key, body=body)
    on_none = await call(
        world.client, method, path, world.b_key, body=json.loads(json.dumps(body).replace(ident, unknown))
    )

    what = f"{method} {path} as B with {json.dumps(body)}"
    if on_c.status_code == 200 and "results" in on_c.json():  # a batch answers item by item
        assert all(r["status"] == "refused" for r in on_c.json()["results"]), f"{what}: applied: {on_c.text}"
    else:
        assert 400 <= on_c.status_code < 500, (
            f"{what}: accepted an id of another tenant: {on_c.status_code} {on_c.text}"
        )
        assert on_c.headers.get("content-type") == "application/problem+json", what
    assert_indistinguishable(on_c, on_none, ident, unknown, what)
    assert await world.snapshot(world.c_readers) == c_before, f"{what} changed tenant C's data"
    assert await world.snapshot() == a_before, f"{what} changed tenant A's data"


def _known_values(snapshot: dict[str, Any]) -> dict[str, list[str]]:
    """Non-id string values of the tenant's objects by field name (its SKUs, say), in order."""
    known: dict[str, list[str]] = {}
    for items in snapshot.values():
        for item in items:
            for name, value in item.items():
                if isinstance(value, str) and name != "id" and value not in known.setdefault(name, []):
                    known[name].append(value)
    return known


def _id_patterns(schema: Any) -> list[str]:
    found: list[str] = []

    def walk(node: Any, seen: frozenset[str]) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                if node["$ref"] not in seen:
                    walk(resolve(node), seen | {node["$ref"]})
                return
            if is_id_schema(node):
                found.append(node["pattern"])
            for value in node.values():
                walk(value, seen)
        elif isinstance(node, list):
            for value in node:
                walk(value, seen)

    walk(schema, frozenset())
    return found


@pytest.mark.parametrize("path", LISTINGS)
async def test_no_listing_of_another_tenant_shows_its_ids(world: World, a_before: dict[str, Any], path: str) -> None:
    a_ids = set(await world.all_ids(a_before)) | {world.demo["tenant"]["id"]}
    for label, key in (("B", world.b_key), ("B's OAuth token", world.b_token)):
        listed = await list_all(world.client, path, key)
        assert listed is not None, f"{label} may not list {path}"
        leaked = sorted(a_ids & {item["id"] for item in listed})
        assert not leaked, f"GET {path} as {label} lists objects of A: {leaked}"
        response = await world.client.get(path, params={"limit": 200}, headers=bearer(key))
        assert not [ident for ident in a_ids if ident in response.text], f"GET {path} as {label} mentions ids of A"


@pytest.mark.parametrize(("method", "template"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
async def test_a_supplier_or_channel_cannot_tell_hidden_objects_from_none(
    world: World, a_before: dict[str, Any], method: str, template: str
) -> None:
    """Inside tenant A: for each supplier and channel, an object of A it cannot list answers
    as a missing one does; a GET of it is a 404 when the principal may list such objects."""
    names = PARAM.findall(template)
    if len(names) != 1:
        pytest.fail(f"{template}: nested ids; extend this probe to find hidden ones level by level")
    name = names[0]
    collection = template[: template.index("{")].rstrip("/")
    everything: list[str] = []
    for _, key in world.a_readers:
        items = await list_all(world.client, collection, key)
        everything += [item["id"] for item in items or [] if item["id"] not in everything]
    assert everything, f"tenant A has nothing at GET {collection}: the demo must create some"
    pattern = _param_pattern(method, template, name)
    probed = 0
    for label, key, _owner in principals(world.demo):
        listing = await list_all(world.client, collection, key)
        visible = {item["id"] for item in listing or []}
        hidden = [ident for ident in everything if ident not in visible]
        if not hidden:
            continue
        probed += 1
        unknown = unknown_id_like(hidden[0], pattern)
        on_hidden = await call(world.client, method, template, key, path_values={name: hidden[0]})
        on_none = await call(world.client, method, template, key, path_values={name: unknown})
        what = f"{method} {template} as {label}"
        assert on_hidden.status_code in (403, 404), (
            f"{what} on a hidden object: {on_hidden.status_code} {on_hidden.text}"
        )
        if method == "GET" and listing is not None:
            assert on_hidden.status_code == 404, f"{what}: {on_hidden.status_code}"
        assert on_hidden.headers.get("content-type") == "application/problem+json", what
        assert_indistinguishable(on_hidden, on_none, hidden[0], unknown, what)
    assert probed, f"{template}: every supplier and channel of the demo sees every object; nothing was probed"
    assert await world.snapshot() == a_before, f"{method} {template} by a supplier or channel changed A's data"


async def test_a_supplier_sees_only_itself(world: World) -> None:
    suppliers = world.demo["suppliers"]
    assert len(suppliers) >= 2, "the demo needs two suppliers to probe between them"
    me, other = suppliers[0], suppliers[1]
    mine = await world.client.get("/v1/suppliers", headers=bearer(me["secret_key"]))
    assert [s["id"] for s in mine.json()["data"]] == [me["id"]]
    theirs = await world.client.get(f"/v1/suppliers/{other['id']}", headers=bearer(me["secret_key"]))
    assert theirs.status_code == 404
    assert (await world.client.get(f"/v1/suppliers/{me['id']}", headers=bearer(me["secret_key"]))).status_code == 200
