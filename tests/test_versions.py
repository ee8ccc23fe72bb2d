"""Optimistic concurrency: `version` on every mutable resource; a stale write is a 409."""

from __future__ import annotations

import asyncio
from typing import Any


async def test_stale_version_is_refused_and_nothing_changes(tenant: Any) -> None:
    supplier, _ = await tenant.supplier("Before")
    first = await tenant.call("PATCH", f"/v1/suppliers/{supplier['id']}", json={"version": 1, "name": "After"})
    assert first.status_code == 200 and first.json()["version"] == 2

    stale = await tenant.call("PATCH", f"/v1/suppliers/{supplier['id']}", json={"version": 1, "name": "Lost"})
    assert stale.status_code == 409
    assert stale.json()["type"] == "/problems/version-conflict"
    assert (await tenant.call("GET", f"/v1/suppliers/{supplier['id']}")).json()["name"] == "After"


async def test_concurrent_updates_of_one_version_have_one_winner(tenant: Any, direct: Any) -> None:
    channel, _ = await tenant.channel()
    answers = await asyncio.gather(
        *(
            direct.patch(f"/v1/channels/{channel['id']}", json={"version": 1, "name": f"n{i}"}, headers=tenant.op)
            for i in range(12)
        )
    )
    codes = sorted(a.status_code for a in answers)
    assert codes.count(200) == 1 and codes.count(409) == 11
    final = (await tenant.call("GET", f"/v1/channels/{channel['id']}")).json()
    assert final["version"] == 2


async def test_missing_object_is_404_not_409(tenant: Any) -> None:
    response = await tenant.call("PATCH", "/v1/suppliers/sup_" + "0" * 26, json={"version": 1, "name": "x"})
    assert response.status_code == 404
