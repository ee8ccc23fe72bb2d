"""Webhook delivery by real `gateway serve` processes: a `kill -9` in the middle of a burst,
and two processes sharing one PostgreSQL database. Each test has a database of its own, so the
in-process app's worker (which delivers for the session database) cannot help."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from conftest import ENGINE, PG_ADMIN_URL
from receivers import Receiver, eventually
from servers import GATEWAY, serving

pytestmark = pytest.mark.slow

#: deliveries to 127.0.0.1; an attempt may take a second, so a dead process's claims lapse in 7 s
ENV = {
    "GATEWAY_WEBHOOKS_ALLOW_INSECURE": "true",
    "GATEWAY_WEBHOOKS_TIMEOUT_SECONDS": "1",
    "GATEWAY_WEBHOOKS_POLL_SECONDS": "0.05",
    "GATEWAY_WEBHOOKS_RETRY_SCHEDULE": "0.5s,1s,1s,1s,1s",
}


@pytest.fixture
async def private_url(database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    if ENGINE == "sqlite":
        yield f"sqlite:///{tmp_path / 'webhooks.db'}"
        return
    name = f"gateway_webhooks_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def new_tenant(url: str) -> str:
    """A tenant in the private database; its operator key."""
    out = subprocess.run(
        [GATEWAY, "tenant", "create", "Webhooks live", "--json"],
        env={**os.environ, "GATEWAY_DATABASE_URL": url},
        capture_output=True,
        check=True,
        timeout=120,
    )
    return str(json.loads(out.stdout)["operator_key"])


async def burst(client: httpx.AsyncClient, base: str, key: str, count: int, tag: str) -> None:
    """`count` product.created events, committed together (one batch upsert)."""
    products = [{"title": f"{tag} {i}", "variants": [{"sku": f"{tag}-{i}", "title": "One"}]} for i in range(count)]
    response = await client.post(
        f"{base}/v1/products/batch", json={"products": products}, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200, response.text


async def product_events(client: httpx.AsyncClient, base: str, key: str) -> set[str]:
    ids: set[str] = set()
    after = None
    while True:
        params: dict[str, Any] = {"limit": 200, "type": "product.created"}
        if after:
            params["after"] = after
        page = (await client.get(f"{base}/v1/events", params=params, headers={"Authorization": f"Bearer {key}"})).json()
        ids |= {e["id"] for e in page["data"]}
        if not page["has_more"]:
            return ids
        after = page["next_cursor"]


async def test_kill_9_mid_burst_loses_no_event(private_url: str, tmp_path: Path) -> None:
    key = await asyncio.to_thread(new_tenant, private_url)
    hooks = Receiver(delay=0.01)  # a slow receiver: the kill lands with deliveries in flight
    try:
        async with httpx.AsyncClient(timeout=60) as client:
            (tmp_path / "first").mkdir()
            with serving(private_url, tmp_path / "first", **ENV) as (server,):
                created = await client.post(
                    f"{server.base}/v1/webhook-endpoints",
                    json={"url": hooks.url, "events": ["product.*"]},
                    headers={"Authorization": f"Bearer {key}"},
                )
                assert created.status_code == 201, created.text
                secret = created.json()["secret"]
                await burst(client, server.base, key, 1000, "KILL")
                await eventually(lambda: len(hooks.requests) >= 150, timeout=30)
                server.kill()
                at_kill = len(hooks.accepted_ids())
            assert at_kill < 1000, "the burst was delivered before the kill: make the receiver slower"
            (tmp_path / "again").mkdir()
            # after the restart the HTTP server runs no background work: a `gateway worker` delivers
            with serving(private_url, tmp_path / "again", GATEWAY_BACKGROUND="false", **ENV) as (server,):
                expected = await product_events(client, server.base, key)
                assert len(expected) == 1000
                idle = len(hooks.requests)
                await asyncio.sleep(1)
                assert len(hooks.requests) == idle, "`serve` with GATEWAY_BACKGROUND=false delivered"
                worker = subprocess.Popen(
                    [GATEWAY, "worker"],
                    env={**os.environ, **ENV, "GATEWAY_DATABASE_URL": private_url},
                    stdout=subprocess.DEVNULL,
                    stderr=(tmp_path / "worker.log").open("wb"),
                )
                try:
                    await eventually(lambda: expected <= hooks.accepted_ids(), timeout=60)
                finally:
                    worker.terminate()
                    worker.wait(15)
        verified = {body["id"] for body in hooks.verified(secret)}  # every one signed
        assert expected <= verified
    finally:
        hooks.close()


@pytest.mark.skipif(ENGINE != "postgres", reason="two processes claiming with SKIP LOCKED: a PostgreSQL test")
async def test_two_processes_on_postgres_deliver_5000_events_never_one_twice_at_once(
    private_url: str, tmp_path: Path
) -> None:
    key = await asyncio.to_thread(new_tenant, private_url)
    hooks = Receiver(delay=0.002)
    try:
        async with httpx.AsyncClient(timeout=60) as client:
            with serving(private_url, tmp_path, count=2, **ENV) as servers:
                created = await client.post(
                    f"{servers[0].base}/v1/webhook-endpoints",
                    json={"url": hooks.url, "events": ["product.*"]},
                    headers={"Authorization": f"Bearer {key}"},
                )
                secret = created.json()["secret"]
                await asyncio.gather(*(burst(client, servers[i % 2].base, key, 1000, f"TWO{i}") for i in range(5)))
                expected = await product_events(client, servers[1].base, key)
                assert len(expected) == 5000
                await eventually(lambda: expected <= hooks.accepted_ids(), timeout=120)
        assert hooks.overlaps == [], f"sent twice at the same time: {hooks.overlaps[:5]}"
        assert {body["id"] for body in hooks.verified(secret)} >= expected
        sent = [r.id for r in hooks.requests if r.id in expected]
        assert len(sent) == len(set(sent)), f"{len(sent) - len(set(sent))} events sent more than once"
    finally:
        hooks.close()
