"""The outbox: events commit with their change, and the feed never skips one."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from gateway.events.services import emit
from gateway.storage import db


async def _types(tenant: Any, key: str | None = None, query: str = "") -> list[str]:
    page = (await tenant.call("GET", "/v1/events" + query, key=key)).json()
    return [e["type"] for e in page["data"]]


async def test_each_change_writes_one_event_with_the_resource(tenant: Any) -> None:
    supplier, _ = await tenant.supplier("Fresh")
    await tenant.call("PATCH", f"/v1/suppliers/{supplier['id']}", json={"version": 1, "name": "Fresher"})
    await tenant.call("POST", f"/v1/suppliers/{supplier['id']}/deactivate")
    events = (await tenant.call("GET", "/v1/events?type=supplier.updated&type=supplier.deactivated")).json()["data"]
    assert [e["type"] for e in events] == ["supplier.updated", "supplier.deactivated"]
    assert events[0]["data"]["name"] == "Fresher" and events[1]["data"]["status"] == "inactive"
    assert events[0]["id"].startswith("evt_")


async def test_a_rolled_back_change_leaves_no_event(tenant: Any) -> None:
    before = await _types(tenant)
    with pytest.raises(RuntimeError):
        async with db().transaction():
            await emit(tenant.id, "supplier.created", {"id": "sup_ghost"})
            raise RuntimeError("the change failed")
    assert await _types(tenant) == before


async def test_supplier_and_channel_see_only_their_own_events(tenant: Any) -> None:
    mine, my_key = await tenant.supplier("Mine")
    other, _ = await tenant.supplier("Other")
    channel, channel_key = await tenant.channel()
    await tenant.call("PATCH", f"/v1/suppliers/{other['id']}", json={"version": 1, "name": "Other 2"})

    supplier_view = (await tenant.call("GET", "/v1/events", key=my_key)).json()["data"]
    assert supplier_view and all(
        e["data"].get("id") == mine["id"] or e["data"].get("owner", {}).get("id") == mine["id"] for e in supplier_view
    )
    channel_view = (await tenant.call("GET", "/v1/events", key=channel_key)).json()["data"]
    assert channel_view and all(
        channel["id"] in (e["data"].get("id"), e["data"].get("owner", {}).get("id")) for e in channel_view
    )
    foreign = next(
        e for e in (await tenant.call("GET", "/v1/events")).json()["data"] if e["data"].get("id") == other["id"]
    )
    assert (await tenant.call("GET", f"/v1/events/{foreign['id']}", key=my_key)).status_code == 404
    assert (await tenant.call("GET", f"/v1/events/{foreign['id']}")).status_code == 200


async def test_feed_pages_in_commit_order_without_gaps(tenant: Any) -> None:
    for i in range(9):
        await tenant.supplier(f"s{i}")
    everything = (await tenant.call("GET", "/v1/events?limit=200")).json()["data"]
    seen: list[str] = []
    after = None
    while True:
        page = (await tenant.call("GET", "/v1/events?limit=4" + (f"&after={after}" if after else ""))).json()
        seen += [e["id"] for e in page["data"]]
        if not page["has_more"]:
            break
        after = page["next_cursor"]
    # On PostgreSQL the feed stops below the oldest transaction still running anywhere on the
    # server (the webhook worker's included), so a later read may reach further; never elsewhere
    everything_ids = [e["id"] for e in everything]
    assert seen[: len(everything_ids)] == everything_ids
    later = [e["id"] for e in (await tenant.call("GET", "/v1/events?limit=200")).json()["data"]]
    assert later[: len(seen)] == seen
    # polling from the last id seen returns nothing new, then exactly the next change
    assert (await tenant.call("GET", f"/v1/events?after={later[-1]}")).json()["data"] == []
    await tenant.supplier("late")
    for _ in range(100):
        new = (await tenant.call("GET", f"/v1/events?after={later[-1]}")).json()["data"]
        if len(new) >= 2:
            break
        await asyncio.sleep(0.05)
    assert [e["type"] for e in new] == ["supplier.created", "api_key.created"]


async def test_postgres_feed_waits_for_an_older_transaction_to_commit(tenant: Any, database_url: str) -> None:
    """A reader must never page past an event whose transaction has not committed yet."""
    if db().dialect != "postgres":
        pytest.skip("SQLite serialises writers: commit order is position order by construction")
    slow = await asyncpg.connect(database_url)
    try:
        transaction = slow.transaction()
        await transaction.start()
        await slow.execute(
            "INSERT INTO events (id, tenant_id, position, type, supplier_id, channel_id, data, created_at) "
            "VALUES ($1, $2, pg_current_xact_id()::text::bigint, 'test.slow', NULL, NULL, '{}', now())",
            "evt_" + "s" * 26,
            tenant.id,
        )
        cursor = (await tenant.call("GET", "/v1/events?limit=200")).json()["data"][-1]["id"]
        await tenant.supplier("committed while the slow one runs")
        assert (await tenant.call("GET", f"/v1/events?after={cursor}")).json()["data"] == []
        await transaction.commit()
        later = [e["type"] for e in (await tenant.call("GET", f"/v1/events?after={cursor}")).json()["data"]]
        assert later == ["test.slow", "supplier.created", "api_key.created"]
    finally:
        await slow.close()
