"""One HTTP dialect: every client mistake is a 4xx problem naming the field, and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.storage import db


async def _footprint(tenant_id: str) -> tuple[int, int, int]:
    counts = []
    for table in ("suppliers", "events", "api_keys"):
        rows = await db().fetch(f"SELECT COUNT(*) AS n FROM {table} WHERE tenant_id = ?", tenant_id)
        counts.append(int(rows[0]["n"]))
    return counts[0], counts[1], counts[2]


BAD_BODIES = [
    (b'{"name": "x"', "(body)"),  # malformed JSON
    (b'{"name": 12}', "name"),  # wrong type
    (b'{"name": "ok", "colour": "red"}', "colour"),  # unknown field
    (b'{"name": ""}', "name"),  # below minLength
    (b'{"name": "' + b"x" * 201 + b'"}', "name"),  # above maxLength
    (b"[]", "(body)"),  # not an object
    (b"{}", "name"),  # missing required field
]


@pytest.mark.parametrize(("raw", "field"), BAD_BODIES)
async def test_bad_body_is_a_problem_naming_the_field_and_writes_nothing(tenant: Any, raw: bytes, field: str) -> None:
    before = await _footprint(tenant.id)
    response = await tenant.call("POST", "/v1/suppliers", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 400 and problem["title"] and problem["type"].startswith("/problems/")
    assert field in [e["field"] for e in problem["errors"]], problem
    assert await _footprint(tenant.id) == before


async def test_nested_unknown_field_is_named_by_its_path(tenant: Any) -> None:
    response = await tenant.call("POST", "/v1/api-keys", json={"owner": {"type": "operator", "team": "x"}})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "owner.team"


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/suppliers?limit=0", "limit"),
        ("/v1/suppliers?limit=201", "limit"),
        ("/v1/suppliers?limit=ten", "limit"),
        ("/v1/suppliers?after=nope", "after"),
        ("/v1/suppliers?status=sleeping", "status"),
        ("/v1/events?type=Bad%20Type", "type"),
    ],
)
async def test_bad_query_parameters_name_the_parameter(tenant: Any, path: str, field: str) -> None:
    response = await tenant.call("GET", path)
    assert response.status_code == 400, response.text
    errors = response.json()["errors"]
    assert any(e["field"] == field and e["location"] == "query" for e in errors), errors


async def test_out_of_range_version_is_refused_before_any_write(tenant: Any) -> None:
    supplier, _ = await tenant.supplier()
    for version in (0, -1, 2**40):
        response = await tenant.call("PATCH", f"/v1/suppliers/{supplier['id']}", json={"version": version, "name": "n"})
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "version"
    assert (await tenant.call("GET", f"/v1/suppliers/{supplier['id']}")).json()["version"] == 1


async def test_oversized_body_is_413_problem_and_writes_nothing(tenant: Any, settings: Any) -> None:
    before = await _footprint(tenant.id)
    huge = b'{"name": "' + b"x" * (settings.max_body_bytes + 10) + b'"}'
    for headers in ({}, {"Idempotency-Key": "big-one"}):
        response = await tenant.call(
            "POST", "/v1/suppliers", content=huge, headers={"content-type": "application/json", **headers}
        )
        assert response.status_code == 413, response.text[:200]
        assert response.headers["content-type"] == "application/problem+json"
    assert await _footprint(tenant.id) == before


async def test_malformed_path_id_is_400_unknown_one_is_404(tenant: Any) -> None:
    assert (await tenant.call("GET", "/v1/suppliers/not-an-id")).status_code == 400
    missing = await tenant.call("GET", "/v1/suppliers/sup_" + "0" * 26)
    assert missing.status_code == 404
    assert missing.json() == {
        "type": "/problems/not-found",
        "title": "Not found",
        "status": 404,
        "detail": "No such supplier: sup_" + "0" * 26,
    }


async def test_unknown_route_and_method(client: Any, tenant: Any) -> None:
    assert (await tenant.call("GET", "/v1/nothing-here")).status_code == 404
    response = await tenant.call("DELETE", "/v1/suppliers")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert "GET" in response.headers["allow"]


async def test_request_id_is_echoed_or_generated(tenant: Any) -> None:
    echoed = await tenant.call("GET", "/v1/suppliers", headers={"X-Request-Id": "trace-123"})
    assert echoed.headers["x-request-id"] == "trace-123"
    generated = await tenant.call("GET", "/v1/suppliers", headers={"X-Request-Id": "bad id with spaces"})
    assert generated.headers["x-request-id"].startswith("req_")
    unauthenticated = await tenant.client.get("/v1/suppliers")
    assert unauthenticated.headers["x-request-id"].startswith("req_")


async def test_health_endpoints_need_no_credential(client: Any) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ok", "checks": {"database": "ok"}}


async def test_pagination_walks_every_item_once(tenant: Any) -> None:
    ids = [(await tenant.supplier(f"s{i}"))[0]["id"] for i in range(7)]
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        query = "?limit=3" + (f"&after={after}" if after else "")
        page = (await tenant.call("GET", "/v1/suppliers" + query)).json()
        pages += 1
        seen += [s["id"] for s in page["data"]]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        after = page["next_cursor"]
    assert seen == ids and pages == 3


@pytest.mark.parametrize("name", ["bad\u0000name", "tab\there", "   "])
async def test_text_fields_refuse_control_characters_and_blank(tenant: Any, name: str) -> None:
    response = await tenant.call("POST", "/v1/suppliers", json={"name": name})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "name"
