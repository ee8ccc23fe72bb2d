"""The principal cache (gateway.tenancy.credentials): a key is looked up once per process, and
a revoke or a deactivation in any process is refused by every other within a second."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from servers import serving

from gateway.storage import db
from gateway.tenancy import credentials

#: what the module promises: CHECK_SECONDS plus one query; the tests poll up to this deadline
BOUND_SECONDS = 1.0


async def _refused_by_deadline(get: Any) -> int:
    """Poll until 401 or the deadline; the last status seen."""
    deadline = time.monotonic() + BOUND_SECONDS
    status = 0
    while True:
        status = (await get()).status_code
        if status == 401 or time.monotonic() >= deadline:
            return status
        await asyncio.sleep(0.02)


async def test_a_cached_principal_is_used_until_the_revision_changes(tenant: Any) -> None:
    """Another process's change arrives as a new revision (here written by hand): until then
    this process answers from its cache (the row's own change is not read); after it, not."""
    supplier, key = await tenant.supplier()
    first = await credentials.principal_for(key)
    assert first is not None and first.owner_id == supplier["id"]
    assert credentials.digest(key) in credentials.cache.entries
    # what another process's revoke writes, minus the bump: this process still trusts its cache
    await db().fetch("UPDATE api_keys SET status = 'revoked' WHERE secret_hash = ?", credentials.digest(key))
    assert await credentials.principal_for(key) == first
    # the bump, as another process's transaction commits it
    await db().fetch(credentials._BUMP_SQL)

    async def lookup() -> Any:
        found = await credentials.principal_for(key)
        return httpx.Response(401 if found is None else 200)

    assert await _refused_by_deadline(lookup) == 401


async def test_a_revoke_at_one_process_is_refused_by_another_within_a_second(
    tenant: Any, database_url: str, tmp_path: Path
) -> None:
    supplier, key = await tenant.supplier()
    other_supplier, other_key = await tenant.supplier("Deactivated elsewhere")
    with serving(database_url, tmp_path, count=2) as (one, two):
        async with httpx.AsyncClient(timeout=30) as client:

            def get(server: Any, party: dict[str, Any], secret: str) -> Any:
                return lambda: client.get(
                    f"{server.base}/v1/suppliers/{party['id']}", headers={"Authorization": f"Bearer {secret}"}
                )

            for server in (one, two):  # both processes have both principals cached
                for party, secret in ((supplier, key), (other_supplier, other_key)):
                    assert (await get(server, party, secret)()).status_code == 200

            key_id = (await client.get(f"{one.base}/v1/api-keys", headers=tenant.auth(key))).json()["data"][0]["id"]
            revoked = await client.post(f"{one.base}/v1/api-keys/{key_id}/revoke", headers=tenant.op)
            assert revoked.status_code == 200
            assert (await get(one, supplier, key)()).status_code == 401  # at once where it was revoked
            assert await _refused_by_deadline(get(two, supplier, key)) == 401

            deactivated = await client.post(
                f"{two.base}/v1/suppliers/{other_supplier['id']}/deactivate", headers=tenant.op
            )
            assert deactivated.status_code == 200, deactivated.text
            assert await _refused_by_deadline(get(one, other_supplier, other_key)) == 401
            # the operator's key, cached in both, still works after both changes
            for server in (one, two):
                assert (await client.get(f"{server.base}/v1/suppliers", headers=tenant.op)).status_code == 200


pytestmark = [pytest.mark.slow]
