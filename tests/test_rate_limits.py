"""Rate limits per credential: 429 with Retry-After and RateLimit headers; shared through Redis."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
import redis.asyncio as redis
from litestar.testing import AsyncTestClient

from gateway.app import create_app

REDIS_URL = os.environ.get("GATEWAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def _client(settings: Any, database: Any, **overrides: Any) -> AsyncTestClient[Any]:
    app = create_app(msgspec.structs.replace(settings, **overrides), database)
    return AsyncTestClient(app=app, raise_server_exceptions=False)


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    client = redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is unreachable at {REDIS_URL} and CI=true")
        pytest.skip("Redis is unreachable")
    finally:
        await client.aclose()
    yield REDIS_URL


async def test_limit_is_per_credential_with_headers(settings: Any, database: Any, tenant: Any) -> None:
    supplier, supplier_key = await tenant.supplier()
    async with await _client(settings, database, rate_limit=3, rate_limit_window_seconds=3600) as client:
        answers = [await client.get("/v1/suppliers", headers=tenant.op) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert answers[0].headers["ratelimit-policy"] == "3;w=3600"
        assert answers[2].headers["ratelimit"].startswith("limit=3, remaining=0")
        refused = answers[3]
        assert refused.headers["content-type"] == "application/problem+json"
        assert int(refused.headers["retry-after"]) > 0
        assert refused.json()["status"] == 429
        # another credential has its own bucket
        own = await client.get(f"/v1/suppliers/{supplier['id']}", headers=tenant.auth(supplier_key))
        assert own.status_code == 200


async def test_redis_counters_are_shared_by_every_process(
    settings: Any, database: Any, tenant: Any, redis_url: str
) -> None:
    overrides = {"rate_limit": 4, "rate_limit_window_seconds": 3600, "redis_url": redis_url}
    async with (
        await _client(settings, database, **overrides) as one,
        await _client(settings, database, **overrides) as two,
    ):
        codes = []
        for i in range(6):
            client = one if i % 2 == 0 else two
            codes.append((await client.get("/v1/suppliers", headers=tenant.op)).status_code)
        assert codes == [200, 200, 200, 200, 429, 429]
