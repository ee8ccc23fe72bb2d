"""Statements (DESIGN §15): for random histories of placements, cancellations, returns and
re-routes spread over several days and two currencies, every party's statement adds up, with
the others', to exactly what consumers paid minus what they got back, per currency and day;
and no party ever sees another's lines.

The model of what consumers paid is the test's own: an order charges its total on the day it
is placed; a cancellation or a return gives back whatever is still charged; a rejected share
that no location takes over gives back its goods (units at the listing price) and its delivery
fee; a re-route changes nothing for the consumer.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from history_world import World, build, operations, run
from hypothesis import HealthCheck, given, settings

from channels.statements import arithmetic, services
from gateway.clock import utcnow


async def get(world: World, path: str, key: str, **params: Any) -> Any:
    response = await world.city.tenant.client.get(path, params=params, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.text
    return response


async def pages(world: World, path: str, key: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params = {**params, "limit": 200}
    while True:
        page = (await get(world, path, key, **params)).json()
        items += page["data"]
        if not page["has_more"]:
            return items
        params["after"] = page["next_cursor"]


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(ops=operations)
async def test_statements_of_all_parties_reconcile_to_consumer_payments(client: Any, database: Any, ops: Any) -> None:
    world = await build(client)
    model = await run(world, ops)
    today = utcnow().date()
    first, last = today - timedelta(days=2), today  # three days ago falls in the opening balance
    window = {"from": first.isoformat(), "to": last.isoformat()}
    operator = world.city.tenant.operator_key

    everyone = await pages(world, "/v1/statements", operator, **window)
    summed: dict[tuple[str, str], int] = defaultdict(int)
    opening: dict[str, int] = defaultdict(int)
    closing: dict[str, int] = defaultdict(int)
    for statement in everyone:
        for block in statement["currencies"]:
            opening[block["currency"]] += block["opening"]
            closing[block["currency"]] += block["closing"]
            assert block["closing"] == block["opening"] + sum(d["amount"] for d in block["days"])
            for day in block["days"]:
                summed[(block["currency"], day["date"])] += day["amount"]
    in_window = {k: v for k, v in model.net.items() if k[1] >= first.isoformat() and v}
    assert {k: v for k, v in summed.items() if v} == in_window
    for currency in {c for c, _ in model.net}:
        before = sum(v for (c, d), v in model.net.items() if c == currency and d < first.isoformat())
        assert opening[currency] == before
        assert closing[currency] == sum(v for (c, _), v in model.net.items() if c == currency)

    # each party: its own statement, its own lines (summing to its statement), nobody else's
    parties = {s["party"]["id"]: s for s in everyone}
    for party_id, key in world.keys.items():
        mine = (await get(world, "/v1/statements", key, **window)).json()["data"]
        if party_id not in parties:
            assert mine == [] or all(not block["days"] for s in mine for block in s["currencies"])
            continue
        assert mine == [parties[party_id]]
        lines = await pages(world, "/v1/statements/lines", key, **window)
        field = "supplier_id" if party_id.startswith("sup_") else "channel_id"
        assert all(line[field] == party_id for line in lines)
        by_day: dict[tuple[str, str], int] = defaultdict(int)
        for line in lines:
            by_day[(line["amount"]["currency"], line["date"])] += line["amount"]["amount"]
        assert {k: v for k, v in by_day.items() if v} == {
            (block["currency"], d["date"]): d["amount"]
            for block in parties[party_id]["currencies"]
            for d in block["days"]
            if d["amount"]
        }
        for other in world.keys:
            if other != party_id:
                response = await world.city.tenant.client.get(
                    "/v1/statements/lines", params={"party": other}, headers={"Authorization": f"Bearer {key}"}
                )
                assert response.status_code == 404, response.text

    # every fulfilment order's entries add up to its money, or to nothing once reversed
    assert await services.check(world.city.tenant.id) == []

    # the whole journal, line by line, is what consumers paid
    journal = await pages(world, "/v1/statements/lines", operator, **window)
    for line in journal:
        split = line["split"]
        assert split["retail"] == split["wholesale"] + split["platform_fee"] + split["channel_margin"]
    paid: dict[tuple[str, str], int] = defaultdict(int)
    for line in journal:
        paid[(line["amount"]["currency"], line["date"])] += line["amount"]["amount"]
    assert {k: v for k, v in paid.items() if v} == in_window


def test_postings_reverse_exactly() -> None:
    lines = [
        {"sku": "A", "qty": 3, "unit_price": 333, "wholesale_unit": 200, "platform_fee": 50},
        {"sku": "B", "qty": 1, "unit_price": 100, "wholesale_unit": 120, "platform_fee": 5},
    ]
    booked = arithmetic.postings_of_share(lines, 300)
    reversed_ = arithmetic.postings_of_share(lines, 300, -1)
    assert [p.amounts.times(-1) for p in reversed_] == [p.amounts for p in booked]
    assert all(p.amounts.balanced() for p in booked + reversed_)
    total = sum(p.amounts.consumer for p in booked)
    assert total == 3 * 333 + 100 + 300
    assert total == sum(p.amounts.part(t) for p in booked for t in arithmetic.PARTY_TYPES)
    assert booked[1].amounts.channel_margin == 100 - 120 - 5  # a loss is on record, not rounded away


def test_assemble_carries_opening_to_closing() -> None:
    made = arithmetic.assemble({"CNY": 100}, [("2026-01-02", "CNY", -30, 2), ("2026-01-01", "CNY", 50, 1)])
    assert made == [
        arithmetic.CurrencyStatement(
            currency="CNY",
            opening=100,
            days=[arithmetic.DayTotal("2026-01-01", 50, 1), arithmetic.DayTotal("2026-01-02", -30, 2)],
            closing=120,
        )
    ]
    assert arithmetic.day_of(datetime(2026, 1, 1, 23, 30, tzinfo=UTC)) == "2026-01-01"


async def test_csv_export_matches_the_statement(client: Any, database: Any) -> None:
    world = await build(client)
    await run(world, [("place", 0, 0), ("place", 1, 4), ("deliver", 0, 0), ("place", 4, 3), ("cancel", 2, 0)])
    operator = world.city.tenant.operator_key
    supplier = next(k for k in world.keys if k.startswith("sup_"))
    response = await get(world, "/v1/statements/csv", operator, party=supplier)
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    statement = (await get(world, "/v1/statements", operator, party=supplier)).json()["data"][0]
    for block in statement["currencies"]:
        mine = [r for r in rows if r["currency"] == block["currency"]]
        assert [int(r["amount"]) for r in mine if r["record"] == "opening"] == [block["opening"]]
        assert [int(r["amount"]) for r in mine if r["record"] == "closing"] == [block["closing"]]
        assert [int(r["amount"]) for r in mine if r["record"] == "day_total"] == [d["amount"] for d in block["days"]]
        assert sum(int(r["amount"]) for r in mine if r["record"] == "line") == block["closing"] - block["opening"]
    assert {r["supplier_id"] for r in rows if r["record"] == "line"} <= {supplier}


async def test_a_period_is_checked(client: Any, database: Any) -> None:
    world = await build(client)
    key = world.city.tenant.operator_key
    for params, field in (
        ({"from": "2026-02-01", "to": "2026-01-01"}, "from"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "from"),
    ):
        response = await world.city.tenant.client.get(
            "/v1/statements", params=params, headers={"Authorization": f"Bearer {key}"}
        )
        assert response.status_code == 409
        assert response.json()["errors"][0]["field"] == field
    unknown = await world.city.tenant.client.get(
        "/v1/statements", params={"party": "sup_" + "0" * 26}, headers={"Authorization": f"Bearer {key}"}
    )
    assert unknown.status_code == 404


async def test_every_kind_of_money_movement_is_booked(client: Any, database: Any) -> None:
    """A fixed history with a sale, a cancellation, a return, a re-route and a share nobody
    could take over: each is in the journal, and the consumers' money still adds up."""
    world = await build(client)
    model = await run(
        world,
        [
            ("place", 1, 0),  # apple: x, y and z stock it
            ("place", 2, 2),  # bread: only x
            ("place", 3, 4),  # umbrella (USD)
            ("reject", 0, 0),  # the apple share moves to another store
            ("reject", 1, 0),  # the bread share has nowhere to go
            ("cancel", 2, 0),
            ("place", 5, 1),
            ("deliver", 3, 0),
            ("return", 3, 0),
        ],
    )
    lines = await pages(world, "/v1/statements/lines", world.city.tenant.operator_key)
    assert {line["kind"] for line in lines} == {"sale", "reroute", "unfilled", "cancellation", "return"}
    assert await services.check(world.city.tenant.id) == []
    # a journal that lost an entry is caught
    from gateway.storage import db

    victim = lines[0]["id"]
    await db().fetch("DELETE FROM money_entries WHERE id = ?", victim)
    assert [b["fulfilment_order_id"] for b in await services.check(world.city.tenant.id)] == [
        lines[0]["fulfilment_order_id"]
    ]
    paid: dict[tuple[str, str], int] = defaultdict(int)
    for line in lines:
        paid[(line["amount"]["currency"], line["date"])] += line["amount"]["amount"]
    assert {k: v for k, v in paid.items() if v} == {k: v for k, v in model.net.items() if v}


def test_periods_hold_inside_the_calendar() -> None:
    from datetime import date

    from channels.statements.periods import period

    assert period(None, date(1, 1, 5)) == (date.min, date(1, 1, 5))
    assert period(None, date.max) == (date(9999, 12, 2), date.max)
    assert period(date(9999, 12, 20), date.max) == (date(9999, 12, 20), date.max)
