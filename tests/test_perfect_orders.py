"""The perfect order rate (DESIGN §15) equals a brute-force count over fulfilment histories.

Random histories (acceptances before and after the deadline, deliveries before and after the
promise, cancellations, returns, rejections, orders left open) are played at chosen times
(in the future, so the deadline sweep leaves them alone); the endpoint's counts per supplier,
per location and per day must equal those counted here, from the fulfilment orders as the API
lists them, by a definition written out again in this file.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from history_world import BASKETS, build
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from order_world import near

from channels.orders import services as orders
from channels.orders.schemas import Destination, LineIn, OrderCreate
from gateway.clock import travel, utcnow
from gateway.http.problems import ProblemError
from gateway.tenancy.principal import Principal
from suppliers.fulfilment import services as fulfilment

FATES = ["deliver", "deliver", "late_accept", "cancel", "cancel_accepted", "return", "reject", "open", "accept_only"]
histories = st.lists(
    st.tuples(
        st.integers(0, len(BASKETS) - 1),
        st.integers(0, 2),  # day
        st.sampled_from(FATES),
        st.integers(0, 40),  # minutes until accepted (the deadline is 20)
        st.integers(1, 90),  # minutes from acceptance to delivery (stores promise about half an hour)
    ),
    min_size=1,
    max_size=10,
)


def stamp(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def brute_force(shares: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    """Counts per `key` (supplier_id or location_id), written out without the gateway's code."""
    out: dict[str, dict[str, Any]] = {}
    for share in shares:
        mine = out.setdefault(
            share[key],
            {"decided": 0, "open": 0, "perfect": 0, "parts": defaultdict(int), "days": defaultdict(lambda: [0, 0])},
        )
        status = share["status"]
        if status in ("pending", "accepted", "picking", "shipped", "ready_for_pickup"):
            mine["open"] += 1
            continue
        accepted = stamp(share["accepted_at"])
        in_time = accepted is not None and accepted <= stamp(share["accept_by"])
        got_there = status in ("delivered", "picked_up", "returned")
        finished = stamp(share["finished_at"])
        on_time = got_there and finished is not None and finished <= stamp(share["promised_at"])
        kept = status not in ("cancelled", "returned")
        perfect = in_time and on_time and got_there and kept
        mine["decided"] += 1
        mine["perfect"] += perfect
        for name, held in (
            ("accepted_in_time", in_time),
            ("on_time", on_time),
            ("complete", got_there),
            ("not_cancelled_or_returned", kept),
        ):
            mine["parts"][name] += held
        day = share["created_at"][:10]
        mine["days"][day][0] += 1
        mine["days"][day][1] += perfect
    return out


async def play(world: Any, plan: list[tuple[int, int, str, int, int]], base: datetime) -> None:
    operator = world.operator
    for index, (basket, day, fate, accept_after, deliver_after) in enumerate(plan):
        placed_at = base + timedelta(days=day, minutes=7 * index)
        channel = world.channels[index % 2]
        principal = Principal(
            tenant_id=world.city.tenant.id, type="channel", owner_id=channel["id"], key_id="t", key_kind="secret"
        )
        with travel(placed_at):
            try:
                order = await orders.place(
                    principal,
                    OrderCreate(
                        lines=[LineIn(sku=sku, qty=qty) for sku, qty in BASKETS[basket]],
                        destination=Destination(*near(km_north=0.3)),
                    ),
                    None,
                )
            except ProblemError:
                continue
        shares = [share.id for share in order.fulfilment_orders]
        accepted_at = placed_at + timedelta(minutes=accept_after if fate == "late_accept" else accept_after % 15)
        if fate == "reject":
            with travel(accepted_at):
                await fulfilment.reroute(world.city.tenant.id, shares[0], "cannot", "test")
            continue
        if fate == "open":
            continue
        if fate == "cancel":
            with travel(accepted_at):
                await orders.cancel(operator, order.id)
            continue
        with travel(accepted_at):
            for share in shares:
                await fulfilment.act(operator, share, "accept")
        if fate == "accept_only":
            continue
        if fate == "cancel_accepted":
            with travel(accepted_at + timedelta(minutes=1)):
                await orders.cancel(operator, order.id)
            continue
        with travel(accepted_at + timedelta(minutes=deliver_after)):
            for share in shares:
                await fulfilment.act(operator, share, "ship")
                await fulfilment.act(operator, share, "deliver")
        if fate == "return":
            with travel(accepted_at + timedelta(minutes=deliver_after + 60)):
                await orders.return_(operator, order.id)


async def listed(world: Any, path: str, key: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params = {**params, "limit": 200}
    while True:
        response = await world.city.tenant.client.get(path, params=params, headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["data"]
        if not page["has_more"]:
            return items
        params["after"] = page["next_cursor"]


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(plan=histories)
async def test_perfect_order_rate_is_a_brute_force_count(client: Any, database: Any, plan: Any) -> None:
    world = await build(client, deadline_minutes=20)
    base = (utcnow() + timedelta(days=1)).replace(hour=2, minute=0, second=0, microsecond=0)
    await play(world, plan, base)
    operator = world.city.tenant.operator_key
    shares = await listed(world, "/v1/fulfilment-orders", operator)
    window = {"from": base.date().isoformat(), "to": (base.date() + timedelta(days=2)).isoformat()}
    for group_by, key in (("supplier", "supplier_id"), ("location", "location_id")):
        got = await listed(world, "/v1/insight/perfect-orders", operator, group_by=group_by, **window)
        want = brute_force(shares, key)
        assert sorted(item[key] for item in got) == sorted(want)
        for item in got:
            expected = want[item[key]]
            assert (item["decided"], item["open"], item["perfect"]) == (
                expected["decided"],
                expected["open"],
                expected["perfect"],
            )
            assert {name: part["count"] for name, part in item["parts"].items()} == {
                name: expected["parts"][name]
                for name in ("accepted_in_time", "on_time", "complete", "not_cancelled_or_returned")
            }
            assert {d["date"]: [d["decided"], d["perfect"]] for d in item["days"]} == dict(expected["days"])
            if item["decided"]:
                assert item["rate"] == item["perfect"] / item["decided"]
    # a supplier sees its own rate only
    for party_id, key in world.keys.items():
        if party_id.startswith("sup_"):
            mine = await listed(world, "/v1/insight/perfect-orders", key, **window)
            assert all(item["supplier_id"] == party_id for item in mine)
