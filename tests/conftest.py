"""Test harness: one real database per run (SQLite file or a fresh PostgreSQL database),
migrated with the real migrations, and one app served in-process.

Pick the engine with `GATEWAY_TEST_DATABASE=sqlite|postgres` (default sqlite). Tests need no
cleanup: each creates its own tenants, and tenants cannot see each other.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.crypto import new_index_key, new_key_line
from gateway.settings import Settings
from gateway.storage import Database, make_engine, use
from gateway.storage.migrate import migrate
from gateway.tenancy.services import create_tenant

ENGINE = os.environ.get("GATEWAY_TEST_DATABASE", "sqlite")
PG_ADMIN_URL = os.environ.get("GATEWAY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# One set of personal-data keys per run, in the environment so that `gateway` subprocesses
# (tests/servers.py, the CLI tests) share them with the in-process app (`settings` below).
os.environ.setdefault("GATEWAY_DATA_KEYS", new_key_line())
os.environ.setdefault("GATEWAY_INDEX_KEY", new_index_key())


def _postgres_reachable() -> bool:
    async def probe() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if ENGINE == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'gateway.db'}"
        return
    if not _postgres_reachable():
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is unreachable at {PG_ADMIN_URL} and CI=true: refusing to skip")
        pytest.skip("PostgreSQL is unreachable")
    name = f"gateway_test_{secrets.token_hex(4)}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        rate_limit=100_000,
        address_rate_limit=100_000,
        log_level="WARNING",
        data_keys=os.environ["GATEWAY_DATA_KEYS"],
        index_key=os.environ["GATEWAY_INDEX_KEY"],
        # webhooks to receivers on 127.0.0.1, retried in a second rather than over three days
        webhooks_allow_insecure=True,
        webhooks_retry_schedule="0.2s,0.2s,0.2s",
        webhooks_disable_after=3,
        webhooks_timeout_seconds=2,
        webhooks_poll_seconds=0.05,
    )


@pytest.fixture(scope="session")
async def database(settings: Settings) -> AsyncIterator[Database]:
    database = Database(make_engine(settings))
    use(database)
    await migrate()
    yield database


@pytest.fixture(scope="session")
async def app(settings: Settings, database: Database) -> Litestar:
    return create_app(settings, database)


@pytest.fixture(scope="session")
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
async def direct(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """A client that runs the app on the test's own event loop, so that requests overlap.

    Litestar's AsyncTestClient runs each request to completion on a portal thread while the
    test's loop waits, so `asyncio.gather` over it races nothing: concurrency tests use this.
    """
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


class Tenant:
    """A fresh tenant and helpers to act in it as its operator, a supplier or a channel."""

    def __init__(self, client: AsyncTestClient[Litestar], tenant_id: str, operator_key: str) -> None:
        self.client = client
        self.id = tenant_id
        self.operator_key = operator_key

    @staticmethod
    def auth(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    @property
    def op(self) -> dict[str, str]:
        return self.auth(self.operator_key)

    async def call(self, method: str, path: str, key: str | None = None, **kwargs: Any) -> Any:
        headers = {**self.auth(key or self.operator_key), **kwargs.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **kwargs)

    async def supplier(self, name: str = "Supplier") -> tuple[dict[str, Any], str]:
        """A new supplier and a secret key acting for it."""
        supplier = (await self.call("POST", "/v1/suppliers", json={"name": name})).json()
        key = await self.key("supplier", supplier["id"])
        return supplier, key

    async def channel(self, name: str = "Channel", kind: str = "partner_app") -> tuple[dict[str, Any], str]:
        channel = (await self.call("POST", "/v1/channels", json={"name": name, "kind": kind})).json()
        key = await self.key("channel", channel["id"])
        return channel, key

    async def key(self, owner_type: str, owner_id: str | None = None, kind: str = "secret") -> str:
        owner: dict[str, Any] = {"type": owner_type}
        if owner_id is not None:
            owner["id"] = owner_id
        response = await self.call("POST", "/v1/api-keys", json={"owner": owner, "kind": kind})
        assert response.status_code == 201, response.text
        return str(response.json()["key"])


@pytest.fixture
async def new_tenant(client: AsyncTestClient[Litestar], database: Database) -> Any:
    async def make(name: str = "Tenant") -> Tenant:
        created = await create_tenant(name)
        return Tenant(client, created.tenant.id, created.operator_key)

    return make


@pytest.fixture
async def tenant(new_tenant: Any) -> Tenant:
    return await new_tenant("Acme")  # type: ignore[no-any-return]
