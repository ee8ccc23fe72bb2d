"""Reliability against real `gateway serve` processes on PostgreSQL (issue 8's acceptance):

- an immediate same-key retry at another process replays the first answer, every time;
- a process killed with SIGKILL in the middle of 50 concurrent keyed order placements: after
  the client's retries no order is placed twice and none is lost; the ledger checks out;
- the database going away under load: 503 problems meanwhile, recovery without a restart.

PostgreSQL only (SQLite is one host's single writer; its crash safety is its WAL). Outages are
made on the test's own database (`ALLOW_CONNECTIONS false` and `pg_terminate_backend` of its
sessions): never on the shared server.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import asyncpg
import httpx
import pytest
from order_world import City, make_city, near
from servers import serving
from test_order_races import assert_ledger_consistent, level, new_sku, point

from gateway.storage import db

pytestmark = [pytest.mark.slow]


@pytest.fixture(autouse=True)
def postgres_only() -> None:
    if db().dialect != "postgres":
        pytest.skip("multi-process crash and outage tests run on PostgreSQL")


@pytest.fixture
async def city(tenant: Any) -> City:
    return await make_city(tenant)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_an_immediate_retry_at_another_process_always_replays(
    tenant: Any, database_url: str, tmp_path: Path
) -> None:
    with serving(database_url, tmp_path, count=2) as (one, two):
        async with httpx.AsyncClient(timeout=30, headers=tenant.op) as client:

            async def create_then_retry(i: int) -> tuple[httpx.Response, httpx.Response]:
                headers = {"Idempotency-Key": f"retry-{i}"}
                body = {"name": f"Retried {i}"}
                first = await client.post(f"{one.base}/v1/suppliers", json=body, headers=headers)
                again = await client.post(f"{two.base}/v1/suppliers", json=body, headers=headers)
                return first, again

            pairs: list[tuple[httpx.Response, httpx.Response]] = []
            for batch in range(20):  # 200 keys, ten at a time
                pairs += await asyncio.gather(*(create_then_retry(batch * 10 + i) for i in range(10)))
    assert [first.status_code for first, _ in pairs] == [201] * 200
    assert [again.status_code for _, again in pairs] == [201] * 200
    assert all(again.json() == first.json() for first, again in pairs)
    assert all(again.headers.get("idempotent-replayed") == "true" for _, again in pairs)
    rows = await db().fetch("SELECT COUNT(*) AS n FROM suppliers WHERE tenant_id = ?", tenant.id)
    assert rows[0]["n"] == 200


async def test_kill_9_during_fifty_keyed_orders_places_each_exactly_once(
    city: City, database_url: str, tmp_path: Path
) -> None:
    x = await city.supplier("X")
    store = await city.location(x, *near(km_north=1))
    sku = await new_sku(city, [x])
    await city.stock(x, store, sku, 500)
    body = {"lines": [{"sku": sku, "qty": 2}], "destination": point()}
    keys = [f"order-{i}" for i in range(50)]

    with serving(database_url, tmp_path, count=2) as (victim, survivor):
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(timeout=60, limits=limits, headers=auth(city.channel_key)) as client:

            async def place(i: int, base: str) -> httpx.Response | Exception:
                try:
                    return await client.post(f"{base}/v1/orders", json=body, headers={"Idempotency-Key": keys[i]})
                except httpx.HTTPError as error:
                    return error

            victims = [keys[i] for i in range(1, 50, 2)]
            marks = ", ".join("?" for _ in victims)

            async def committed_at_victim() -> int:
                rows = await db().fetch(
                    f"SELECT COUNT(*) AS n FROM orders WHERE tenant_id = ? AND idempotency_key IN ({marks})",
                    city.tenant.id,
                    *victims,
                )
                return int(rows[0]["n"])

            attempts = [asyncio.create_task(place(i, (victim if i % 2 else survivor).base)) for i in range(50)]
            # kill the victim once a few of its orders have committed and the rest are in flight
            deadline = time.monotonic() + 10
            while await committed_at_victim() < 3 and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
            await asyncio.to_thread(victim.kill)
            first = await asyncio.gather(*attempts)
            committed_before_retry = await committed_at_victim()

            # the client retries what did not get an answer (or got a 5xx), at the survivor
            final: list[httpx.Response] = []
            for i, outcome in enumerate(first):
                while isinstance(outcome, Exception) or outcome.status_code >= 500 or outcome.status_code == 409:
                    await asyncio.sleep(0.05)
                    outcome = await place(i, survivor.base)
                final.append(outcome)
    lost = sum(1 for outcome in first if isinstance(outcome, Exception) or outcome.status_code >= 500)
    assert [r.status_code for r in final] == [201] * 50, [r.text[:200] for r in final if r.status_code != 201]
    order_ids = [r.json()["id"] for r in final]
    assert len(set(order_ids)) == 50
    rows = await db().fetch(
        "SELECT id, idempotency_key FROM orders WHERE tenant_id = ? AND channel_id = ?",
        city.tenant.id,
        city.channel["id"],
    )
    assert sorted(row["id"] for row in rows) == sorted(order_ids)  # none twice, none lost
    assert {row["idempotency_key"]: row["id"] for row in rows} == dict(zip(keys, order_ids, strict=True))
    assert await level(city, store, sku) == {"on_hand": 500, "reserved": 0, "committed": 100, "available": 400}
    await assert_ledger_consistent(city, [(store, sku)])
    check = subprocess.run(
        [sys.executable, "-m", "gateway", "inventory", "check"],
        env={**os.environ, "GATEWAY_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0 and json.loads(check.stdout) == {"consistent": True}, check.stdout + check.stderr
    print(
        f"kill -9: {lost} of 50 placements had no answer from the killed process and were retried; "
        f"the killed process had committed {committed_before_retry} of its 25"
    )


async def _admin(database_url: str, *statements: str) -> None:
    """Run statements against the server's `postgres` database, never the one under test."""
    parsed = urlparse(database_url)
    connection = await asyncpg.connect(parsed._replace(path="/postgres").geturl())
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def test_database_outage_under_load_is_503_then_recovers_without_restart(
    tenant: Any, database_url: str, tmp_path: Path
) -> None:
    name = urlparse(database_url).path.lstrip("/")
    supplier = (await tenant.call("POST", "/v1/suppliers", json={"name": "Outage"})).json()
    terminate = (
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    )
    with serving(database_url, tmp_path, args=("--workers", "2")) as (server,):
        async with httpx.AsyncClient(timeout=30, headers=tenant.op) as client:
            stop = asyncio.Event()
            seen: list[tuple[float, int, str]] = []

            async def load() -> None:
                while not stop.is_set():
                    response = await client.get(f"{server.base}/v1/suppliers/{supplier['id']}")
                    seen.append((time.monotonic(), response.status_code, response.headers.get("content-type", "")))

            workers = [asyncio.create_task(load()) for _ in range(8)]
            await asyncio.sleep(1.0)
            outage_started = time.monotonic()
            try:
                await _admin(database_url, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false', terminate)
                await asyncio.sleep(2.0)
                during = await client.get(f"{server.base}/v1/suppliers/{supplier['id']}")
                health = await client.get(f"{server.base}/healthz")
                ready = await client.get(f"{server.base}/readyz")
            finally:
                await _admin(database_url, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            outage_ended = time.monotonic()
            await asyncio.sleep(2.0)
            stop.set()
            await asyncio.gather(*workers)
            after = await client.get(f"{server.base}/v1/suppliers/{supplier['id']}")

    assert during.status_code == 503 and during.headers["content-type"] == "application/problem+json"
    assert during.json()["type"] == "/problems/unavailable" and during.headers["retry-after"]
    assert health.status_code == 200
    assert ready.status_code == 503 and "database" in ready.json()["detail"]
    statuses = {status for _, status, _ in seen}
    assert statuses <= {200, 503}, statuses  # never a 500
    assert all(kind == "application/problem+json" for _, status, kind in seen if status == 503)
    assert any(status == 503 for t, status, _ in seen if outage_started <= t <= outage_ended)
    recovered = [status for t, status, _ in seen if t > outage_ended + 1.0]
    assert recovered and set(recovered) == {200}
    assert after.status_code == 200
