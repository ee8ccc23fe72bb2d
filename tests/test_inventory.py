"""The inventory ledger (DESIGN §5): set, adjust, holds, transfers, and the invariant."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from inventory_world import add_location, add_offer, make_world

from gateway.storage import db
from suppliers.inventory import services


@pytest.fixture
async def world(tenant: Any) -> Any:
    return await make_world(tenant)


async def test_set_applies_counts_and_records_movements(world: Any) -> None:
    loc, sku = world.locations[0], world.skus[0]
    answer = await world.set([{"location_id": loc, "sku": sku, "on_hand": 12, "sequence": 1}])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["applied"] == 1 and body["refused"] == 0
    assert body["results"][0]["level"]["available"] == 12
    again = await world.set([{"location_id": loc, "sku": sku, "on_hand": 7, "sequence": 2, "safety_stock": 2}])
    assert again.json()["results"][0]["level"] | {"updated_at": None, "id": None} == {
        "id": None,
        "location_id": loc,
        "sku": sku,
        "on_hand": 7,
        "reserved": 0,
        "committed": 0,
        "safety_stock": 2,
        "available": 5,
        "last_sequence": 2,
        "updated_at": None,
    }
    moves = (
        await world.tenant.call("GET", f"/v1/inventory/movements?location_id={loc}&sku={sku}", key=world.key)
    ).json()
    assert [(m["delta_on_hand"], m["reason"]) for m in moves["data"]] == [(12, "sync"), (-5, "sync")]
    assert all(m["actor"].startswith("key_") for m in moves["data"])


async def test_stale_and_out_of_order_sequences_are_refused_and_never_applied(world: Any) -> None:
    loc, sku = world.locations[0], world.skus[0]
    await world.set([{"location_id": loc, "sku": sku, "on_hand": 10, "sequence": 5}])
    answer = await world.set(
        [
            {"location_id": loc, "sku": sku, "on_hand": 99, "sequence": 4},  # older
            {"location_id": loc, "sku": sku, "on_hand": 98, "sequence": 5},  # repeated
            {"location_id": loc, "sku": sku, "on_hand": 8, "sequence": 7},  # newer: applied
            {"location_id": loc, "sku": sku, "on_hand": 97, "sequence": 6},  # older than the one just applied
        ]
    )
    results = answer.json()["results"]
    assert [r["status"] for r in results] == ["refused", "refused", "applied", "refused"]
    assert {r["error"]["code"] for r in results if r["status"] == "refused"} == {"stale_sequence"}
    assert (await world.level(loc, sku))["on_hand"] == 8


async def test_items_of_a_batch_succeed_or_fail_alone(world: Any, new_tenant: Any) -> None:
    other = await new_tenant("Other")
    other_supplier, _ = await other.supplier()
    foreign_location = await add_location(other.id, other_supplier["id"])
    not_offered = "SKU-NOT-OFFERED"
    answer = await world.set(
        [
            {"location_id": world.locations[0], "sku": world.skus[0], "on_hand": 3, "sequence": 1},
            {"location_id": foreign_location, "sku": world.skus[0], "on_hand": 3, "sequence": 1},
            {"location_id": world.locations[0], "sku": not_offered, "on_hand": 3, "sequence": 1},
            {"location_id": world.locations[1], "sku": world.skus[1], "on_hand": 4, "sequence": 1},
        ]
    )
    results = answer.json()["results"]
    assert [r["status"] for r in results] == ["applied", "refused", "refused", "applied"]
    assert results[1]["error"]["code"] == "location_not_found"
    assert results[2]["error"]["code"] == "not_offered"
    rows = await db().fetch("SELECT COUNT(*) AS n FROM inventory_levels WHERE location_id = ?", foreign_location)
    assert rows[0]["n"] == 0


async def test_a_supplier_cannot_stock_another_suppliers_location(world: Any) -> None:
    rival, rival_key = await world.tenant.supplier("Rival")
    await add_offer(world.tenant.id, rival["id"], world.skus[0])
    answer = await world.set(
        [{"location_id": world.locations[0], "sku": world.skus[0], "on_hand": 1, "sequence": 1}], key=rival_key
    )
    assert answer.json()["results"][0]["error"]["code"] == "location_not_found"
    # the operator may stock any location of the tenant
    assert (
        await world.set(
            [{"location_id": world.locations[0], "sku": world.skus[0], "on_hand": 1, "sequence": 1}],
            key=world.tenant.operator_key,
        )
    ).json()["applied"] == 1
    # a channel reaches no inventory operation
    _, channel_key = await world.tenant.channel()
    assert (await world.tenant.call("GET", "/v1/inventory/levels", key=channel_key)).status_code == 403
    # and a supplier lists only its own levels
    assert (await world.tenant.call("GET", "/v1/inventory/levels", key=rival_key)).json()["data"] == []


async def test_adjust_refuses_going_below_zero_and_is_idempotent(world: Any) -> None:
    loc, sku = world.locations[0], world.skus[0]
    await world.set([{"location_id": loc, "sku": sku, "on_hand": 5, "sequence": 1}])
    items = [
        {"location_id": loc, "sku": sku, "delta": 3, "reason": "received", "reference": "PO-1"},
        {"location_id": loc, "sku": sku, "delta": -20, "reason": "damaged"},
    ]
    headers = {"Idempotency-Key": "adjust-1"}
    first = await world.tenant.call(
        "POST", "/v1/inventory/adjust", key=world.key, json={"items": items}, headers=headers
    )
    assert [r["status"] for r in first.json()["results"]] == ["applied", "refused"]
    assert first.json()["results"][1]["error"]["code"] == "insufficient_stock"
    replay = await world.tenant.call(
        "POST", "/v1/inventory/adjust", key=world.key, json={"items": items}, headers=headers
    )
    assert replay.json() == first.json() and replay.headers["idempotent-replayed"] == "true"
    assert (await world.level(loc, sku))["on_hand"] == 8


async def test_adjust_items_apply_once_even_when_the_response_was_lost(world: Any) -> None:
    """A crash after the commit but before the response was stored: the retry runs again,
    and the per-item keys keep it from applying the same units twice."""
    loc, sku = world.locations[0], world.skus[0]
    items = [{"location_id": loc, "sku": sku, "delta": 4, "reason": "received"}]
    headers = {"Idempotency-Key": "lost-response"}
    await world.tenant.call("POST", "/v1/inventory/adjust", key=world.key, json={"items": items}, headers=headers)
    await db().fetch("DELETE FROM idempotency_keys WHERE tenant_id = ?", world.tenant.id)  # the stored response is lost
    retry = await world.tenant.call(
        "POST", "/v1/inventory/adjust", key=world.key, json={"items": items}, headers=headers
    )
    assert retry.json()["results"][0]["status"] == "applied"
    assert (await world.level(loc, sku))["on_hand"] == 4


async def test_a_count_below_commitments_is_applied_and_raises_a_shortage(world: Any) -> None:
    loc, sku = world.locations[0], world.skus[0]
    await world.set([{"location_id": loc, "sku": sku, "on_hand": 10, "sequence": 1}])
    assert await services.reserve(world.tenant.id, loc, sku, 6, timedelta(minutes=5))
    answer = await world.set([{"location_id": loc, "sku": sku, "on_hand": 2, "sequence": 2}])
    level = answer.json()["results"][0]["level"]
    assert (level["on_hand"], level["reserved"], level["available"]) == (2, 6, 0)
    events = (await world.tenant.call("GET", "/v1/events?type=inventory.shortage", key=world.key)).json()["data"]
    assert [(e["data"]["location_id"], e["data"]["sku"]) for e in events] == [(loc, sku)]


async def _stocked(world: Any, qty: int) -> tuple[str, str]:
    loc, sku = world.locations[0], world.skus[0]
    await world.set([{"location_id": loc, "sku": sku, "on_hand": qty, "sequence": 1}])
    return loc, sku


async def test_many_concurrent_takers_take_exactly_the_stock(world: Any) -> None:
    loc, sku = await _stocked(world, 10)
    takes = await asyncio.gather(
        *(services.reserve(world.tenant.id, loc, sku, 1, timedelta(minutes=5)) for _ in range(80))
    )
    assert sum(1 for t in takes if t) == 10
    level = await world.level(loc, sku)
    assert (level["on_hand"], level["reserved"], level["available"]) == (10, 10, 0)
    assert await services.check() == []


async def test_holds_release_commit_and_expire(world: Any) -> None:
    loc, sku = await _stocked(world, 10)
    call = world.tenant.call
    held = await call(
        "POST", "/v1/inventory/reservations", key=world.key, json={"location_id": loc, "sku": sku, "qty": 4}
    )
    assert held.status_code == 201 and held.json()["status"] == "held"
    too_many = await call(
        "POST", "/v1/inventory/reservations", key=world.key, json={"location_id": loc, "sku": sku, "qty": 7}
    )
    assert too_many.status_code == 409 and too_many.json()["type"] == "/problems/insufficient-stock"
    committed = await call("POST", f"/v1/inventory/reservations/{held.json()['id']}/commit", key=world.key)
    assert committed.json()["status"] == "committed"
    again = await call("POST", f"/v1/inventory/reservations/{held.json()['id']}/release", key=world.key)
    assert again.status_code == 409
    level = await world.level(loc, sku)
    assert (level["reserved"], level["committed"], level["available"]) == (0, 4, 6)

    short = await services.reserve(world.tenant.id, loc, sku, 5, timedelta(seconds=-1))
    assert short is not None and (await world.level(loc, sku))["available"] == 1
    assert await services.expire_reservations() >= 1
    assert (await world.level(loc, sku))["available"] == 6
    expired = await call("GET", f"/v1/inventory/reservations/{short['id']}", key=world.key)
    assert expired.json()["status"] == "expired"

    shipped = await services.ship(world.tenant.id, loc, sku, 4, reference="ord_1")
    assert shipped is not None and (shipped["on_hand"], shipped["committed"]) == (6, 0)
    assert await services.ship(world.tenant.id, loc, sku, 1) is None  # nothing committed is left to ship
    restocked = await services.restock(world.tenant.id, loc, sku, 1, reference="ret_1")
    assert restocked is not None and restocked["on_hand"] == 7
    assert await services.commit_available(world.tenant.id, loc, sku, 8) is None
    assert await services.commit_available(world.tenant.id, loc, sku, 7) is not None
    cancelled = await services.cancel(world.tenant.id, loc, sku, 7)
    assert cancelled is not None and cancelled["committed"] == 0
    assert await services.check() == []


async def test_transfer_out_in_transit_and_in(world: Any) -> None:
    origin, sku = await _stocked(world, 10)
    destination = world.locations[1]
    call = world.tenant.call
    started = await call(
        "POST", "/v1/inventory/transfers", key=world.key,
        json={"from_location_id": origin, "to_location_id": destination, "sku": sku, "qty": 4},
    )  # fmt: skip
    assert started.status_code == 201, started.text
    transfer = started.json()
    assert transfer["status"] == "in_transit"
    assert (await world.level(origin, sku))["on_hand"] == 6
    assert (await world.level(destination, sku))["on_hand"] == 0
    received = await call("POST", f"/v1/inventory/transfers/{transfer['id']}/receive", key=world.key)
    assert received.json()["status"] == "received"
    assert (await world.level(destination, sku))["on_hand"] == 4
    assert (await call("POST", f"/v1/inventory/transfers/{transfer['id']}/cancel", key=world.key)).status_code == 409

    back = await call(
        "POST", "/v1/inventory/transfers", key=world.key,
        json={"from_location_id": origin, "to_location_id": destination, "sku": sku, "qty": 6},
    )  # fmt: skip
    await call("POST", f"/v1/inventory/transfers/{back.json()['id']}/cancel", key=world.key)
    assert (await world.level(origin, sku))["on_hand"] == 6
    too_many = await call(
        "POST", "/v1/inventory/transfers", key=world.key,
        json={"from_location_id": origin, "to_location_id": destination, "sku": sku, "qty": 7},
    )  # fmt: skip
    assert too_many.status_code == 409
    assert await services.check() == []


async def test_transfers_stay_within_one_supplier(world: Any) -> None:
    rival, _ = await world.tenant.supplier("Rival")
    rival_location = await add_location(world.tenant.id, rival["id"])
    origin, sku = await _stocked(world, 5)
    answer = await world.tenant.call(
        "POST", "/v1/inventory/transfers",
        json={"from_location_id": origin, "to_location_id": rival_location, "sku": sku, "qty": 1},
    )  # fmt: skip
    assert answer.status_code == 409 and answer.json()["type"] == "/problems/different-suppliers"


async def test_check_finds_a_level_that_disagrees_with_its_movements(world: Any) -> None:
    loc, sku = await _stocked(world, 3)
    assert await services.check() == []
    await db().fetch("UPDATE inventory_levels SET on_hand = on_hand + 1 WHERE location_id = ? AND sku = ?", loc, sku)
    try:
        broken = await services.check()
        assert [(b["location_id"], b["sku"], b["on_hand"], b["moved_on_hand"]) for b in broken] == [(loc, sku, 4, 3)]
    finally:
        await db().fetch(
            "UPDATE inventory_levels SET on_hand = on_hand - 1 WHERE location_id = ? AND sku = ?", loc, sku
        )


async def test_the_same_count_delivered_twice_is_applied_once(world: Any) -> None:
    loc, sku = world.locations[0], world.skus[0]
    item = {"location_id": loc, "sku": sku, "on_hand": 9, "sequence": 3}
    await world.set([item])
    again = (await world.set([item])).json()["results"][0]
    assert again["status"] == "applied" and again["level"]["on_hand"] == 9
    conflicting = (await world.set([{**item, "on_hand": 8}])).json()["results"][0]
    assert conflicting["error"]["code"] == "stale_sequence"
    moves = (
        await world.tenant.call("GET", f"/v1/inventory/movements?location_id={loc}&sku={sku}", key=world.key)
    ).json()
    assert len(moves["data"]) == 1


async def test_a_count_that_changes_nothing_is_unchanged_and_writes_no_movement(world: Any) -> None:
    loc, sku = world.locations[0], world.skus[1]
    assert (await world.set([{"location_id": loc, "sku": sku, "on_hand": 5, "sequence": 1}])).json()["applied"] == 1
    same = (await world.set([{"location_id": loc, "sku": sku, "on_hand": 5, "sequence": 2}])).json()
    assert (same["applied"], same["unchanged"], same["refused"]) == (0, 1, 0)
    assert same["results"][0]["status"] == "unchanged" and same["results"][0]["level"]["last_sequence"] == 2
    # the sequence did advance: an older count is stale now
    stale = (await world.set([{"location_id": loc, "sku": sku, "on_hand": 9, "sequence": 2}])).json()
    assert stale["results"][0]["error"]["code"] == "stale_sequence"
    # a new safety stock with the same count is a change (of policy): applied, still no movement
    policy = (
        await world.set([{"location_id": loc, "sku": sku, "on_hand": 5, "sequence": 3, "safety_stock": 2}])
    ).json()
    assert policy["results"][0]["status"] == "applied" and policy["results"][0]["level"]["available"] == 3
    moves = (
        await world.tenant.call("GET", f"/v1/inventory/movements?location_id={loc}&sku={sku}", key=world.key)
    ).json()
    assert [(m["reason"], m["delta_on_hand"]) for m in moves["data"]] == [("sync", 5)]
    assert await services.check() == []
