"""Idempotency-Key as DESIGN §4 says: replay, 422 on a changed body, 409 while in flight."""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

from gateway.storage import db


async def _count(tenant_id: str, table: str) -> int:
    rows = await db().fetch(f"SELECT COUNT(*) AS n FROM {table} WHERE tenant_id = ?", tenant_id)
    return int(rows[0]["n"])


async def test_same_key_same_body_replays_the_first_response(tenant: Any) -> None:
    headers = {"Idempotency-Key": "create-fresh-1"}
    first = await tenant.call("POST", "/v1/suppliers", json={"name": "Fresh"}, headers=headers)
    second = await tenant.call("POST", "/v1/suppliers", json={"name": "Fresh"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await _count(tenant.id, "suppliers") == 1
    events = (await tenant.call("GET", "/v1/events?type=supplier.created")).json()["data"]
    assert len(events) == 1


async def test_same_key_different_body_is_422_and_writes_nothing(tenant: Any) -> None:
    headers = {"Idempotency-Key": "create-2"}
    await tenant.call("POST", "/v1/suppliers", json={"name": "One"}, headers=headers)
    changed = await tenant.call("POST", "/v1/suppliers", json={"name": "Two"}, headers=headers)
    assert changed.status_code == 422
    assert changed.json()["type"] == "/problems/idempotency-key-reused"
    assert await _count(tenant.id, "suppliers") == 1


async def test_key_is_scoped_to_the_caller(tenant: Any, new_tenant: Any) -> None:
    other = await new_tenant("Other")
    headers = {"Idempotency-Key": "shared-key"}
    mine = await tenant.call("POST", "/v1/suppliers", json={"name": "Same"}, headers=headers)
    theirs = await other.call("POST", "/v1/suppliers", json={"name": "Same"}, headers=headers)
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    assert "idempotent-replayed" not in theirs.headers


async def test_request_in_flight_is_409_then_a_stale_claim_is_taken_over(tenant: Any) -> None:
    # A claim as another gateway process leaves it while it works on the request.
    body = b'{"name":"Slow"}'
    principal_scope = f"{tenant.id}\noperator\nNone\nslow-key"
    record_id = hashlib.sha256(principal_scope.encode()).hexdigest()
    fingerprint = hashlib.sha256(b"\n".join([b"POST", b"/v1/suppliers", b"", body])).hexdigest()
    locked_until = int(time.time() * 1000) + 60_000
    await db().fetch(
        "INSERT INTO idempotency_keys (id, tenant_id, fingerprint, status, locked_until_ms, response_headers, "
        "response_body, created_at) VALUES (?, ?, ?, 'in_flight', ?, '', '', CURRENT_TIMESTAMP)",
        record_id,
        tenant.id,
        fingerprint,
        locked_until,
    )
    headers = {"Idempotency-Key": "slow-key", "content-type": "application/json"}
    busy = await tenant.call("POST", "/v1/suppliers", content=body, headers=headers)
    assert busy.status_code == 409
    assert busy.json()["type"] == "/problems/idempotency-key-in-use"

    # That process died: once its lock has expired, a retry runs the request.
    await db().fetch("UPDATE idempotency_keys SET locked_until_ms = ? WHERE id = ?", 0, record_id)
    retried = await tenant.call("POST", "/v1/suppliers", content=body, headers=headers)
    assert retried.status_code == 201
    replay = await tenant.call("POST", "/v1/suppliers", content=body, headers=headers)
    assert replay.json() == retried.json() and replay.headers["idempotent-replayed"] == "true"


async def test_concurrent_duplicates_create_exactly_once(tenant: Any, direct: Any) -> None:
    headers = {"Idempotency-Key": "burst", **tenant.op}
    answers = await asyncio.gather(
        *(direct.post("/v1/suppliers", json={"name": "Burst"}, headers=headers) for _ in range(10))
    )
    codes = [a.status_code for a in answers]
    assert set(codes) <= {201, 409}, codes
    # one ran; each other one either found it in flight (409) or replayed its answer
    originals = [a for a in answers if a.status_code == 201 and "idempotent-replayed" not in a.headers]
    assert len(originals) == 1
    assert await _count(tenant.id, "suppliers") == 1
    created = {a.json()["id"] for a in answers if a.status_code == 201}
    assert len(created) == 1


async def test_client_errors_are_kept_and_replayed_too(tenant: Any) -> None:
    headers = {"Idempotency-Key": "bad-owner"}
    owner = {"owner": {"type": "supplier", "id": "sup_" + "0" * 26}}
    first = await tenant.call("POST", "/v1/api-keys", json=owner, headers=headers)
    second = await tenant.call("POST", "/v1/api-keys", json=owner, headers=headers)
    assert first.status_code == second.status_code == 404
    assert second.json() == first.json()
    assert second.headers["content-type"] == "application/problem+json"
