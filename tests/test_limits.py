"""Limits before authentication (per client address, trusted proxies), lockout of pickup-code
guessing, and a Redis that fails: requests go on."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from servers import free_port
from test_orders import SKU_A, near, two_stores

from gateway.app import create_app

BAD_KEY = {"Authorization": "Bearer sk_" + "x" * 32}


@contextlib.asynccontextmanager
async def _client(settings: Any, database: Any, address: str = "198.51.100.7", **overrides: Any) -> AsyncIterator[Any]:
    """The app on this loop, seen from `address` (the TCP peer)."""
    async with _on(create_app(msgspec.structs.replace(settings, **overrides), database), address) as client:
        yield client


async def test_a_bad_key_flood_from_one_address_is_refused_before_authentication(
    settings: Any, database: Any, tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gateway.tenancy.auth as auth

    lookups = 0
    real = auth.principal_for

    async def counted(token: str) -> Any:
        nonlocal lookups
        lookups += 1
        return await real(token)

    monkeypatch.setattr(auth, "principal_for", counted)
    async with _client(settings, database, address_rate_limit=5, rate_limit_window_seconds=3600) as client:
        codes = [(await client.get("/v1/suppliers", headers=BAD_KEY)).status_code for _ in range(12)]
        assert codes == [401] * 5 + [429] * 7
        refused = await client.get("/v1/suppliers", headers=BAD_KEY)
        assert refused.headers["content-type"] == "application/problem+json"
        assert int(refused.headers["retry-after"]) > 0
        assert lookups == 5  # the refused ones never reached the key lookup
        # probes, scrapes and CORS preflights are never limited
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/readyz")).status_code == 200
        preflight = await client.options(
            "/v1/suppliers", headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "GET"}
        )
        assert preflight.status_code != 429
    # another address is not affected, and a valid key is limited per key, not per address
    async with _client(settings, database, address="198.51.100.8", address_rate_limit=5) as other:
        assert (await other.get("/v1/suppliers", headers=BAD_KEY)).status_code == 401
        assert all([(await other.get("/v1/suppliers", headers=tenant.op)).status_code == 200 for _ in range(8)])


async def test_forwarded_for_counts_only_behind_a_trusted_proxy(settings: Any, database: Any) -> None:
    overrides = {"address_rate_limit": 2, "rate_limit_window_seconds": 3600, "trusted_proxies": "10.0.0.0/8"}
    async with _client(settings, database, address="10.1.2.3", **overrides) as proxy:
        # two clients behind our proxy: each has its own budget
        for client_ip in ("203.0.113.1", "203.0.113.2"):
            forwarded = {**BAD_KEY, "X-Forwarded-For": f"{client_ip}, 10.9.9.9"}
            assert [(await proxy.get("/v1/suppliers", headers=forwarded)).status_code for _ in range(3)] == [
                401,
                401,
                429,
            ]
    async with _client(settings, database, address="192.0.2.50", **overrides) as direct:
        # an untrusted peer cannot pick its address by sending the header
        codes = []
        for i in range(3):
            spoofed = {**BAD_KEY, "X-Forwarded-For": f"203.0.113.{100 + i}"}
            codes.append((await direct.get("/v1/suppliers", headers=spoofed)).status_code)
        assert codes == [401, 401, 429]


async def test_wrong_pickup_codes_lock_verification(settings: Any, database: Any, city: Any) -> None:
    x, _, near_store, _ = await two_stores(city)
    point = await city.location(x, *near(km_north=0.5), kind="pickup_point", modes=("pickup",), radius_km=1)
    await city.stock(x, near_store, SKU_A, 5)
    order = (
        await city.post("/v1/orders", {"lines": [{"sku": SKU_A, "qty": 1}], "mode": "pickup", "pickup_point_id": point})
    ).json()
    [share] = order["fulfilment_orders"]
    code, key = share["pickup_code"], city.supplier_keys[x]
    headers = city.tenant.auth(key)
    await city.post(f"/v1/fulfilment-orders/{share['id']}/accept", key=key)
    await city.post(f"/v1/fulfilment-orders/{share['id']}/ready-for-pickup", key=key)
    wrong = [f"{n:06d}" for n in range(10) if f"{n:06d}" != code][:3]

    app = create_app(msgspec.structs.replace(settings, lockout_failures=3, lockout_seconds=600), database)
    async with _on(app, "198.51.100.20") as client, _on(app, "198.51.100.21") as elsewhere:
        codes = [
            (await client.post("/v1/pickups/verify", json={"code": w}, headers=headers)).status_code for w in wrong
        ]
        assert codes == [404, 404, 404]
        locked = await client.post("/v1/pickups/verify", json={"code": code}, headers=headers)
        assert locked.status_code == 429 and locked.json()["type"] == "/problems/locked-out"
        assert 0 < int(locked.headers["retry-after"]) <= 600
        # the lock is the party's, wherever it calls from: even the right code is refused
        moved = await elsewhere.post("/v1/pickups/verify", json={"code": code}, headers=headers)
        assert moved.status_code == 429
        # the operator is another party, from another address: not locked
        done = await elsewhere.post("/v1/pickups/verify", json={"code": code}, headers=city.tenant.op)
        assert done.status_code == 200 and done.json()["status"] == "picked_up"


@contextlib.asynccontextmanager
async def _on(app: Any, address: str) -> AsyncIterator[Any]:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def city(tenant: Any) -> Any:
    from test_orders import City

    channel, channel_key = await tenant.channel("Pickup channel")
    return City(tenant, channel, channel_key)


# -- Redis failing -------------------------------------------------------------------------------


class PrivateRedis:
    """A redis-server of our own on a free port: stopping it touches nobody else's."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_requests_go_on_while_redis_is_down(
    settings: Any, database: Any, tenant: Any, private_redis: PrivateRedis
) -> None:
    overrides = {"redis_url": private_redis.url, "redis_timeout_seconds": 0.2, "rate_limit": 1000}
    async with _client(settings, database, **overrides) as client:
        assert (await client.get("/v1/suppliers", headers=tenant.op)).status_code == 200
        ready = (await client.get("/readyz")).json()
        assert ready == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}

        private_redis.stop()
        started = time.monotonic()
        codes = [(await client.get("/v1/suppliers", headers=tenant.op)).status_code for _ in range(20)]
        elapsed = time.monotonic() - started
        assert codes == [200] * 20
        assert elapsed < 5  # the first call waits for its timeout, the rest skip Redis while it is down
        assert (await client.get("/healthz")).status_code == 200
        ready = await client.get("/readyz")
        assert ready.status_code == 200 and ready.json() == {
            "status": "degraded",
            "checks": {"database": "ok", "redis": "down"},
        }
        # limits still hold, per process, while Redis is away
        async with _client(
            settings, database, redis_url=private_redis.url, redis_timeout_seconds=0.2, rate_limit=3
        ) as tight:
            assert [(await tight.get("/v1/suppliers", headers=tenant.op)).status_code for _ in range(4)] == [
                200,
                200,
                200,
                429,
            ]

        private_redis.start()
        await asyncio.sleep(0.1)
        ready = (await client.get("/readyz")).json()
        assert ready["checks"]["redis"] == "ok"
