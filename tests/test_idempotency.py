"""Idempotency-Key as DESIGN §4 says: replay, 422 on a changed body, 409 while in flight."""

from __future__ import annotations

import asyncio
import hashlib
import threading
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


async def test_request_in_flight_is_409_and_a_dead_one_blocks_nothing(tenant: Any, database_url: str) -> None:
    """In flight = a live transaction holds the key's lock. Another process's is simulated with a
    connection of our own; when it ends (commit, crash: the same for a lock), a retry runs."""
    body = b'{"name":"Slow"}'
    record_id = hashlib.sha256(f"{tenant.id}\noperator\nNone\nslow-key".encode()).hexdigest()
    headers = {"Idempotency-Key": "slow-key", "content-type": "application/json"}
    if db().dialect == "postgres":
        import asyncpg

        from gateway.storage import _lock_key

        other = await asyncpg.connect(database_url)
        transaction = other.transaction()
        await transaction.start()
        await other.execute("SELECT pg_advisory_xact_lock($1)", _lock_key(f"idempotency:{record_id}"))
        busy = await tenant.call("POST", "/v1/suppliers", content=body, headers=headers)
        assert busy.status_code == 409
        assert busy.json()["type"] == "/problems/idempotency-key-in-use"
        await other.close()  # the other process dies mid-request: its lock goes with it
    else:
        # SQLite: the other process holds the write lock; the request waits, then runs
        import sqlite3

        from gateway.storage import sqlite_path

        other = sqlite3.connect(sqlite_path(database_url), isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        threading.Timer(0.3, other.rollback).start()  # the test client blocks this loop: a thread
    started = time.monotonic()
    retried = await tenant.call("POST", "/v1/suppliers", content=body, headers=headers)
    assert retried.status_code == 201
    if db().dialect == "sqlite":
        assert time.monotonic() - started >= 0.25
        other.close()
    replay = await tenant.call("POST", "/v1/suppliers", content=body, headers=headers)
    assert replay.json() == retried.json() and replay.headers["idempotent-replayed"] == "true"
    assert await _count(tenant.id, "suppliers") == 1


async def test_the_record_commits_with_the_handlers_writes(tenant: Any, monkeypatch: Any) -> None:
    """A crash between the handler's writes and its record is impossible: they are one
    transaction. Failing the record's write undoes the handler's writes; the retry runs once."""
    from gateway.http import idempotency

    real = idempotency.IdempotencyMiddleware._complete

    async def crash(*args: Any) -> None:
        raise ConnectionError("the process died here")

    monkeypatch.setattr(idempotency.IdempotencyMiddleware, "_complete", crash)
    headers = {"Idempotency-Key": "atomic-1"}
    failed = await tenant.call("POST", "/v1/suppliers", json={"name": "Atomic"}, headers=headers)
    assert failed.status_code >= 500
    assert await _count(tenant.id, "suppliers") == 0
    assert (await tenant.call("GET", "/v1/events?type=supplier.created")).json()["data"] == []

    monkeypatch.setattr(idempotency.IdempotencyMiddleware, "_complete", real)
    retried = await tenant.call("POST", "/v1/suppliers", json={"name": "Atomic"}, headers=headers)
    assert retried.status_code == 201 and "idempotent-replayed" not in retried.headers
    replay = await tenant.call("POST", "/v1/suppliers", json={"name": "Atomic"}, headers=headers)
    assert replay.json() == retried.json() and replay.headers["idempotent-replayed"] == "true"
    assert await _count(tenant.id, "suppliers") == 1


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
