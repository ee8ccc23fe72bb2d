"""Webhooks with real receivers on 127.0.0.1, verified with the `standardwebhooks` package.

The in-process app runs the delivery worker as background work, with the test settings
(`conftest.py`): http and loopback allowed, retries 0.2 s apart three times, an endpoint
disabled after three dead letters in a row.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from receivers import Receiver, eventually
from standardwebhooks import Webhook, WebhookVerificationError

from gateway.events.services import emit
from gateway.storage import db
from gateway.webhooks import config as webhook_config


@pytest.fixture
def receiver() -> Any:
    made: list[Receiver] = []

    def make(**kwargs: Any) -> Receiver:
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for one in made:
        one.close()


async def endpoint(tenant: Any, url: str, events: list[str] | None = None, key: str | None = None, **extra: Any) -> Any:
    response = await tenant.call(
        "POST", "/v1/webhook-endpoints", key=key, json={"url": url, "events": events or ["*"], **extra}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def feed(tenant: Any, key: str | None = None, after: str | None = None) -> list[dict[str, Any]]:
    """Every event the key may read, in feed order."""
    events: list[dict[str, Any]] = []
    while True:
        query = "?limit=200" + (f"&after={after}" if after else "")
        page = (await tenant.call("GET", "/v1/events" + query, key=key)).json()
        events += page["data"]
        if not page["has_more"]:
            return events
        after = page["next_cursor"]


async def deliveries(tenant: Any, endpoint_id: str, query: str = "") -> list[dict[str, Any]]:
    response = await tenant.call("GET", f"/v1/webhook-endpoints/{endpoint_id}/deliveries?limit=200{query}")
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


# -- signatures ---------------------------------------------------------------------------------


async def test_signatures_verify_with_standardwebhooks_before_and_during_a_rotation(tenant: Any, receiver: Any) -> None:
    hooks = receiver()
    created = await endpoint(tenant, hooks.url, ["supplier.*"])
    first = created["secret"]
    assert (
        first.startswith("whsec_")
        and "secret" not in (await tenant.call("GET", f"/v1/webhook-endpoints/{created['id']}")).json()
    )

    await tenant.supplier("Before")
    before = (await eventually(lambda: hooks.accepted()))[0]
    assert Webhook(first).verify(before.body, before.headers)["type"] == "supplier.created"
    assert before.headers["webhook-id"] == before.json()["id"]
    assert len(before.headers["webhook-signature"].split(" ")) == 1

    rotated = await tenant.call("POST", f"/v1/webhook-endpoints/{created['id']}/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()["secret"]
    assert second != first and rotated.json()["previous_secret_expires_at"] is not None
    expires = datetime.fromisoformat(rotated.json()["previous_secret_expires_at"])
    assert timedelta(hours=23) < expires - datetime.now(UTC) <= timedelta(hours=24)

    await tenant.supplier("During")
    during = (await eventually(lambda: [r for r in hooks.accepted() if r.json()["data"]["name"] == "During"]))[0]
    assert len(during.headers["webhook-signature"].split(" ")) == 2  # both secrets sign
    assert Webhook(first).verify(during.body, during.headers)["data"]["name"] == "During"
    assert Webhook(second).verify(during.body, during.headers)["data"]["name"] == "During"

    ended = await tenant.call("POST", f"/v1/webhook-endpoints/{created['id']}/rotate-secret", json={"overlap_hours": 0})
    third = ended.json()["secret"]
    await tenant.supplier("After")
    after = (await eventually(lambda: [r for r in hooks.accepted() if r.json()["data"]["name"] == "After"]))[0]
    assert Webhook(third).verify(after.body, after.headers)["data"]["name"] == "After"
    for old in (first, second):
        with pytest.raises(WebhookVerificationError):
            Webhook(old).verify(after.body, after.headers)


async def test_a_ping_is_signed_and_reports_the_answer(tenant: Any, receiver: Any) -> None:
    hooks = receiver(behaviour=lambda n, h: (204, {}))
    created = await endpoint(tenant, hooks.url)
    ping = (await tenant.call("POST", f"/v1/webhook-endpoints/{created['id']}/ping")).json()
    assert ping["succeeded"] and ping["status_code"] == 204 and ping["error"] is None
    pinged = [r for r in hooks.requests if r.json()["type"] == "webhook_endpoint.ping"]
    assert len(pinged) == 1
    body = Webhook(created["secret"]).verify(pinged[0].body, pinged[0].headers)
    assert body["data"]["endpoint_id"] == created["id"] and pinged[0].id == body["id"]

    refusing = receiver(behaviour=lambda n, h: (401, {}))
    other = await endpoint(tenant, refusing.url)
    answer = (await tenant.call("POST", f"/v1/webhook-endpoints/{other['id']}/ping")).json()
    assert not answer["succeeded"] and answer["status_code"] == 401 and "not now" in answer["response_excerpt"]


# -- retries, dead letters, redelivery ----------------------------------------------------------


async def test_a_receiver_that_fails_for_a_while_gets_every_event_as_the_feed_has_them(
    tenant: Any, receiver: Any
) -> None:
    recovered_at: list[float] = []

    def flaky(number: int, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
        if number < 15:
            return 500, {}
        recovered_at.append(number)
        return 200, {}

    hooks = receiver(behaviour=flaky)
    before = {name: _metric(name, **labels) for name, labels in METRICS}
    created = await endpoint(tenant, hooks.url)
    for index in range(12):
        await tenant.supplier(f"Flaky {index}")
    expected = [e for e in await feed(tenant) if e["created_at"] >= created["created_at"]]
    assert len(expected) >= 24

    await eventually(lambda: hooks.accepted_ids() >= {e["id"] for e in expected}, timeout=30)
    assert any(r.status == 500 for r in hooks.requests)
    bodies = hooks.verified(created["secret"])
    received = {body["id"]: body for body in bodies}  # dedup by webhook-id
    assert len(bodies) == len(received), "an accepted delivery was sent again (its outcome was not recorded)"
    for event in expected:
        assert received[event["id"]] == event  # exactly the feed's shape and content
    failed = [d for d in await deliveries(tenant, created["id"]) if d["attempts"] > 1]
    assert failed and all(d["status"] == "succeeded" for d in failed)
    attempts = (await tenant.call("GET", f"/v1/webhook-endpoints/{created['id']}/attempts?outcome=failed")).json()
    assert attempts["data"] and all(a["status_code"] == 500 and a["response_excerpt"] for a in attempts["data"])
    await eventually(
        lambda: _metric("gateway_webhook_attempts_total", outcome="succeeded") - before[METRICS[0][0]] >= len(expected)
    )
    grown = {name: _metric(name, **labels) - before[name] for name, labels in METRICS}
    assert grown["gateway_webhook_attempts_total"] >= len(expected)
    assert grown["gateway_webhook_delivery_lag_seconds_count"] >= len(expected)
    assert grown["gateway_webhook_delivery_lag_seconds_sum"] > 0


#: (series, labels) read by the recovery test: the in-process app counts into the default registry
METRICS = [
    ("gateway_webhook_attempts_total", {"outcome": "succeeded"}),
    ("gateway_webhook_delivery_lag_seconds_count", {}),
    ("gateway_webhook_delivery_lag_seconds_sum", {}),
]


def _metric(name: str, **labels: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_receiver_down_longer_than_the_schedule_gets_dead_letters_that_a_redeliver_sends(
    tenant: Any, receiver: Any
) -> None:
    down = {"down": True}
    hooks = receiver(behaviour=lambda n, h: (503, {}) if down["down"] else (200, {}))
    created = await endpoint(tenant, hooks.url, ["supplier.*"])
    since = datetime.now(UTC).isoformat()
    suppliers = [(await tenant.supplier(f"Down {i}"))[0]["id"] for i in range(4)]

    dead = await eventually(lambda: _all_dead(tenant, created["id"], len(suppliers)), timeout=30)
    assert len(dead) == 4
    assert all(len([r for r in hooks.requests if r.id == d["event_id"]]) >= 1 for d in dead)
    # three dead letters in a row disable the endpoint, and the feed says so
    state = (await tenant.call("GET", f"/v1/webhook-endpoints/{created['id']}")).json()
    assert state["status"] == "auto_disabled" and "dead-lettered" in state["disabled_reason"]
    disabled = [e for e in await feed(tenant) if e["type"] == "webhook_endpoint.disabled"]
    assert [e["data"]["id"] for e in disabled] == [created["id"]]

    refused = await tenant.call("POST", f"/v1/webhook-endpoints/{created['id']}/redeliver", json={"since": since})
    assert refused.status_code == 409
    down["down"] = False
    assert (await tenant.call("POST", f"/v1/webhook-endpoints/{created['id']}/enable")).status_code == 200
    queued = await tenant.call("POST", f"/v1/webhook-endpoints/{created['id']}/redeliver", json={"since": since})
    assert queued.status_code == 202 and queued.json()["queued"] == 4, queued.text

    await eventually(lambda: {d["event_id"] for d in dead} <= hooks.accepted_ids())
    bodies = hooks.verified(created["secret"])
    assert sorted(b["data"]["id"] for b in bodies if b["type"] == "supplier.created") == sorted(suppliers)


async def _all_dead(tenant: Any, endpoint_id: str, count: int) -> list[dict[str, Any]] | None:
    rows = await deliveries(tenant, endpoint_id, "&event_type=supplier.created")
    return rows if len(rows) == count and all(d["status"] == "dead" for d in rows) else None


async def test_a_redelivery_asked_for_during_the_attempt_is_sent_after_it(tenant: Any, receiver: Any) -> None:
    """The receiver has the event and is still answering when the operator redelivers it: the
    attempt in flight keeps the delivery (never two at once), and once it is recorded the event
    goes again; the attempt's success does not swallow the redelivery."""
    hooks = receiver(delay=0.5)
    created = await endpoint(tenant, hooks.url, ["supplier.created"])
    await tenant.supplier("Asked twice")
    first = (await eventually(lambda: hooks.requests))[0]
    assert hooks.answering(first.id)
    response = await tenant.call("POST", f"/v1/events/{first.id}/redeliver")
    assert response.status_code == 202, response.text
    [queued] = response.json()["deliveries"]
    assert queued["status"] == "pending"
    await eventually(lambda: len(hooks.accepted()) == 2)
    assert hooks.accepted()[1].id == first.id and hooks.overlaps == []

    async def done() -> Any:
        rows = await deliveries(tenant, created["id"])
        return rows if rows[0]["status"] == "succeeded" and rows[0]["attempts"] == 2 else None

    await eventually(done)


async def test_redeliver_one_event_sends_it_again_with_the_same_webhook_id(tenant: Any, receiver: Any) -> None:
    hooks = receiver()
    created = await endpoint(tenant, hooks.url, ["supplier.created"])
    supplier, _ = await tenant.supplier("Again")
    first = (await eventually(lambda: hooks.accepted()))[0]
    response = await tenant.call("POST", f"/v1/events/{first.id}/redeliver")
    assert response.status_code == 202, response.text
    assert [d["endpoint_id"] for d in response.json()["deliveries"]] == [created["id"]]
    await eventually(lambda: len(hooks.accepted()) == 2)
    second = hooks.accepted()[1]
    assert second.id == first.id and second.body == first.body
    assert Webhook(created["secret"]).verify(second.body, second.headers)["data"]["id"] == supplier["id"]
    # an endpoint that does not subscribe to the type cannot be named
    other = await endpoint(tenant, hooks.url, ["order.*"])
    wrong = await tenant.call("POST", f"/v1/events/{first.id}/redeliver", json={"endpoint_id": other["id"]})
    assert wrong.status_code == 409 and wrong.json()["type"].endswith("not-subscribed")


async def test_retry_after_is_honoured(tenant: Any, receiver: Any) -> None:
    hooks = receiver(behaviour=lambda n, h: (429, {"Retry-After": "1"}) if n == 0 else (200, {}))
    await endpoint(tenant, hooks.url, ["supplier.created"])
    await tenant.supplier("Patient")
    await eventually(lambda: hooks.accepted())
    first, second = hooks.requests[0], hooks.requests[1]
    assert first.id == second.id
    assert second.at - first.at >= 0.95  # the schedule alone would have retried after 0.2 s


async def test_410_gone_disables_the_endpoint(tenant: Any, receiver: Any) -> None:
    hooks = receiver(behaviour=lambda n, h: (410, {}))
    created = await endpoint(tenant, hooks.url, ["supplier.*"])
    await tenant.supplier("Gone")
    state = await eventually(
        lambda: _status(tenant, created["id"], "auto_disabled"),
    )
    assert "410" in state["disabled_reason"]
    assert len(hooks.requests) == 1  # never retried
    events = [e for e in await feed(tenant) if e["type"] == "webhook_endpoint.disabled"]
    assert events and events[-1]["data"]["id"] == created["id"] and events[-1]["data"]["status"] == "auto_disabled"
    await tenant.supplier("Not sent")
    assert len(hooks.requests) == 1


async def _status(tenant: Any, endpoint_id: str, status: str) -> dict[str, Any] | None:
    state = (await tenant.call("GET", f"/v1/webhook-endpoints/{endpoint_id}")).json()
    return state if state["status"] == status else None


async def test_redirects_are_not_followed(tenant: Any, receiver: Any) -> None:
    target = receiver()
    hooks = receiver(behaviour=lambda n, h: (307, {"Location": target.url}))
    created = await endpoint(tenant, hooks.url, ["supplier.created"])
    await tenant.supplier("Redirected")
    rows = await eventually(lambda: _attempted(tenant, created["id"]))
    assert rows[0]["last_status_code"] == 307 and rows[0]["status"] == "pending"
    assert target.requests == []


async def _attempted(tenant: Any, endpoint_id: str) -> list[dict[str, Any]] | None:
    rows = [d for d in await deliveries(tenant, endpoint_id) if d["attempts"]]
    return rows or None


# -- audience and isolation ---------------------------------------------------------------------


async def test_endpoints_hear_what_their_owner_reads_in_the_feed_and_nothing_of_another_tenant(
    new_tenant: Any, receiver: Any
) -> None:
    a = await new_tenant("Tenant A")
    b = await new_tenant("Tenant B")
    s1, s1_key = await a.supplier("S1")
    s2, _ = await a.supplier("S2")
    c1, c1_key = await a.channel("C1")
    c2, _ = await a.channel("C2")
    hooks = {name: receiver() for name in ("a", "s1", "c1", "b")}
    endpoints = {
        "a": await endpoint(a, hooks["a"].url),
        "s1": await endpoint(a, hooks["s1"].url, key=s1_key),
        "c1": await endpoint(a, hooks["c1"].url, key=c1_key),
        "b": await endpoint(b, hooks["b"].url),
    }
    # the operator may own an endpoint for a channel; the channel may not for another
    for_c1 = await endpoint(a, hooks["c1"].url, ["channel.*"], owner={"type": "channel", "id": c1["id"]})
    assert for_c1["owner"] == {"type": "channel", "id": c1["id"]}
    stolen = await a.call(
        "POST",
        "/v1/webhook-endpoints",
        key=c1_key,
        json={"url": hooks["c1"].url, "events": ["*"], "owner": {"type": "channel", "id": c2["id"]}},
    )
    assert stolen.status_code == 403

    for party, name in ((s1, "suppliers"), (s2, "suppliers"), (c1, "channels"), (c2, "channels")):
        await a.call("PATCH", f"/v1/{name}/{party['id']}", json={"version": 1, "name": party["name"] + "!"})
    await a.key("channel", c2["id"])
    await b.supplier("B's own")
    await b.channel("B's channel")

    async def heard(name: str, tenant: Any, key: str | None) -> bool:
        since = endpoints[name]["created_at"]
        wanted = {e["id"] for e in await feed(tenant, key) if e["created_at"] >= since}
        return wanted <= hooks[name].accepted_ids()

    await eventually(lambda: heard("a", a, None))
    await eventually(lambda: heard("s1", a, s1_key))
    await eventually(lambda: heard("c1", a, c1_key))
    await eventually(lambda: heard("b", b, None))
    await _quiet()

    for name, tenant, key in (("a", a, None), ("s1", a, s1_key), ("c1", a, c1_key), ("b", b, None)):
        readable = {e["id"] for e in await feed(tenant, key)}
        got = hooks[name].accepted_ids()
        assert got <= readable, f"{name} heard events its owner cannot read: {got - readable}"
    a_events = {e["id"] for e in await feed(a)}
    assert not (hooks["b"].accepted_ids() & a_events)
    assert not (hooks["a"].accepted_ids() & {e["id"] for e in await feed(b)})
    c1_heard = [r.json() for r in hooks["c1"].accepted()]
    assert c1_heard and all(c2["id"] not in str(body) for body in c1_heard)
    s1_heard = [r.json() for r in hooks["s1"].accepted()]
    assert s1_heard and all(s2["id"] not in str(body) for body in s1_heard)

    # each party sees only its own endpoints; another's is a 404
    assert [e["id"] for e in (await a.call("GET", "/v1/webhook-endpoints", key=s1_key)).json()["data"]] == [
        endpoints["s1"]["id"]
    ]
    assert (await a.call("GET", f"/v1/webhook-endpoints/{endpoints['c1']['id']}", key=s1_key)).status_code == 404
    assert (await b.call("GET", f"/v1/webhook-endpoints/{endpoints['a']['id']}")).status_code == 404
    everything = {e["id"] for e in (await a.call("GET", "/v1/webhook-endpoints")).json()["data"]}
    assert everything == {endpoints["a"]["id"], endpoints["s1"]["id"], endpoints["c1"]["id"], for_c1["id"]}


async def _quiet() -> None:
    import asyncio

    await asyncio.sleep(0.3)  # anything still on its way would arrive now


async def test_type_filters_select_events(tenant: Any, receiver: Any) -> None:
    hooks = receiver()
    await endpoint(tenant, hooks.url, ["channel.*", "supplier.updated"])
    supplier, _ = await tenant.supplier("Filtered")
    await tenant.call("PATCH", f"/v1/suppliers/{supplier['id']}", json={"version": 1, "name": "Filtered 2"})
    await tenant.channel("Heard")
    await eventually(lambda: {"supplier.updated", "channel.created"} <= {r.json()["type"] for r in hooks.accepted()})
    await _quiet()
    assert {r.json()["type"] for r in hooks.accepted()} == {"supplier.updated", "channel.created"}


# -- SSRF ---------------------------------------------------------------------------------------


@pytest.fixture
def production_guard() -> Any:
    """The settings of a real deployment: https and public addresses only."""
    saved = webhook_config.current()
    webhook_config.use(dataclasses.replace(saved, allow_insecure=False))
    yield
    webhook_config.use(saved)


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/",
        "https://10.0.0.1/hooks",
        "http://169.254.169.254/",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/hooks",  # a name that resolves to 127.0.0.1
        "https://127.0.0.1/hooks",
        "https://[::1]/hooks",
        "https://[::ffff:10.0.0.1]/hooks",
        "https://192.168.1.1/",
        "https://100.64.0.1/",  # carrier-grade NAT
        "https://0.0.0.0/",
        "http://8.8.8.8/",  # public, but not https
        "https://user:pw@8.8.8.8/",
    ],
)
async def test_ssrf_refuses_private_addresses_at_registration(tenant: Any, production_guard: Any, url: str) -> None:
    response = await tenant.call("POST", "/v1/webhook-endpoints", json={"url": url, "events": ["*"]})
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/url-not-allowed"
    assert [e["field"] for e in response.json()["errors"]] == ["url"]


async def test_ssrf_with_the_development_setting_allows_loopback_only(tenant: Any, receiver: Any) -> None:
    hooks = receiver()
    assert (
        await tenant.call("POST", "/v1/webhook-endpoints", json={"url": hooks.url, "events": ["*"]})
    ).status_code == 201
    for url in ("http://10.0.0.1/", "http://169.254.169.254/"):
        response = await tenant.call("POST", "/v1/webhook-endpoints", json={"url": url, "events": ["*"]})
        assert response.status_code == 409 and response.json()["errors"][0]["field"] == "url"


async def test_ssrf_refuses_a_changed_url_and_checks_every_connection(tenant: Any, receiver: Any) -> None:
    import httpx

    from gateway.webhooks import sender, ssrf

    hooks = receiver()
    created = await endpoint(tenant, hooks.url)
    changed = await tenant.call(
        "PATCH",
        f"/v1/webhook-endpoints/{created['id']}",
        json={"version": created["version"], "url": "http://169.254.169.254/"},
    )
    assert changed.status_code == 409 and changed.json()["errors"][0]["field"] == "url"

    # at connection time, after resolution: `localhost` resolves to a loopback address
    target = receiver()
    async with ssrf.guarded_client(False, httpx.Timeout(2)) as client:
        for url in (target.url, target.url.replace("127.0.0.1", "localhost")):
            answer = await sender.post(client, url, "evt_x", b"{}", [b"k"], 2)
            assert answer.refused and "loopback" in (answer.error or ""), answer
    async with ssrf.guarded_client(True, httpx.Timeout(2)) as client:  # the development setting
        assert (await sender.post(client, target.url, "evt_y", b"{}", [b"k"], 2)).status_code == 200
    assert [r.id for r in target.requests] == ["evt_y"]


# -- the API ------------------------------------------------------------------------------------


async def test_endpoint_life_cycle(tenant: Any, receiver: Any) -> None:
    hooks = receiver()
    created = await endpoint(tenant, hooks.url, ["order.*", "order.*", "inventory.shortage"], description="Orders")
    assert created["events"] == ["order.*", "inventory.shortage"] and created["status"] == "enabled"
    ident = created["id"]
    updated = await tenant.call("PATCH", f"/v1/webhook-endpoints/{ident}", json={"version": 1, "events": ["*"]})
    assert updated.json()["events"] == ["*"] and updated.json()["version"] == 2
    stale = await tenant.call("PATCH", f"/v1/webhook-endpoints/{ident}", json={"version": 1, "description": "x"})
    assert stale.status_code == 409
    disabled = (await tenant.call("POST", f"/v1/webhook-endpoints/{ident}/disable")).json()
    assert disabled["status"] == "disabled" and disabled["disabled_reason"] == "disabled by hand"
    await tenant.supplier("Unheard")
    await _quiet()
    assert "supplier.created" not in [r.json()["type"] for r in hooks.requests]
    assert (await tenant.call("POST", f"/v1/webhook-endpoints/{ident}/enable")).json()["status"] == "enabled"
    listed = (await tenant.call("GET", "/v1/webhook-endpoints?status=enabled")).json()["data"]
    assert ident in [e["id"] for e in listed]
    assert (await tenant.call("DELETE", f"/v1/webhook-endpoints/{ident}")).status_code == 204
    assert (await tenant.call("GET", f"/v1/webhook-endpoints/{ident}")).status_code == 404
    types = [e["type"] for e in await feed(tenant) if e["type"].startswith("webhook_endpoint.")]
    assert types == [
        "webhook_endpoint.created",
        "webhook_endpoint.updated",
        "webhook_endpoint.disabled",
        "webhook_endpoint.enabled",
        "webhook_endpoint.deleted",
    ]
    odd = await tenant.call("GET", f"/v1/webhook-endpoints/{ident}/deliveries", params={"event_type": "Not a type"})
    assert odd.status_code == 400 and odd.json()["errors"][0]["field"] == "event_type"
    bad = await tenant.call("POST", "/v1/webhook-endpoints", json={"url": hooks.url, "events": ["Order.Created"]})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"].startswith("events")


async def test_a_rolled_back_change_is_never_delivered(tenant: Any, receiver: Any) -> None:
    hooks = receiver()
    await endpoint(tenant, hooks.url, ["test.*"])
    with pytest.raises(RuntimeError):
        async with db().transaction():
            await emit(tenant.id, "test.ghost", {"n": 1})
            raise RuntimeError("the change failed")
    async with db().transaction():
        await emit(tenant.id, "test.real", {"n": 2})
    await eventually(lambda: hooks.accepted())
    await _quiet()
    assert [r.json()["type"] for r in hooks.accepted()] == ["test.real"]


async def test_finished_deliveries_and_attempts_are_purged_after_the_retention(tenant: Any, receiver: Any) -> None:
    from gateway.webhooks.services import purge

    hooks = receiver()
    created = await endpoint(tenant, hooks.url, ["supplier.created"])
    await tenant.supplier("Old news")
    await eventually(lambda: _succeeded(tenant, created["id"]))
    old = datetime.now(UTC) - timedelta(days=31)
    await db().fetch(
        "UPDATE webhook_deliveries SET updated_at = ? WHERE endpoint_id = ? AND status = 'succeeded'",
        old,
        created["id"],
    )
    await db().fetch("UPDATE webhook_attempts SET at = ? WHERE endpoint_id = ?", old, created["id"])
    assert await purge(30) >= 2
    assert await deliveries(tenant, created["id"]) == []
    assert (await tenant.call("GET", f"/v1/webhook-endpoints/{created['id']}/attempts")).json()["data"] == []


async def _succeeded(tenant: Any, endpoint_id: str) -> bool:
    rows = await deliveries(tenant, endpoint_id)
    return bool(rows) and all(d["status"] == "succeeded" for d in rows)


async def test_an_order_reaches_its_channel_and_a_fulfilment_order_its_supplier_only(
    tenant: Any, receiver: Any
) -> None:
    from order_world import make_city, near

    city = await make_city(tenant)
    other_channel, other_channel_key = await tenant.channel("Another channel")
    x = await city.supplier("X")
    y = await city.supplier("Y")
    store = await city.location(x, *near(km_north=1))
    await city.location(y, *near(km_east=3))
    for supplier in (x, y):
        await city.offer(supplier, "HOOK-1", wholesale=100)
    await city.listing("HOOK-1", price=200)
    await city.stock(x, store, "HOOK-1", 5)
    hooks = {name: receiver() for name in ("channel", "other_channel", "x", "y", "operator")}
    await endpoint(tenant, hooks["channel"].url, ["order.*", "fulfilment_order.*"], key=city.channel_key)
    await endpoint(tenant, hooks["other_channel"].url, key=other_channel_key)
    await endpoint(tenant, hooks["x"].url, ["fulfilment_order.*", "order.*"], key=city.supplier_keys[x])
    await endpoint(tenant, hooks["y"].url, key=city.supplier_keys[y])
    await endpoint(tenant, hooks["operator"].url, ["order.*", "fulfilment_order.*"])

    lat, lng = near()
    placed = await city.post(
        "/v1/orders", {"lines": [{"sku": "HOOK-1", "qty": 1}], "destination": {"lat": lat, "lng": lng}}
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    [share] = order["fulfilment_orders"]
    accepted = await city.post(f"/v1/fulfilment-orders/{share['id']}/accept", key=city.supplier_keys[x])
    assert accepted.status_code == 200, accepted.text

    def types(name: str) -> set[str]:
        return {
            r.json()["type"] for r in hooks[name].accepted() if r.json()["data"].get("id") in (order["id"], share["id"])
        }

    await eventually(
        lambda: {"order.created", "fulfilment_order.created", "fulfilment_order.accepted"} <= types("channel")
    )
    await eventually(lambda: {"fulfilment_order.created", "fulfilment_order.accepted"} <= types("x"))
    await eventually(
        lambda: {"order.created", "fulfilment_order.created", "fulfilment_order.accepted"} <= types("operator")
    )
    await _quiet()
    assert "order.created" not in types("x")  # the order is the channel's; its share is the supplier's
    assert not [r for r in hooks["y"].accepted() if order["id"] in r.body.decode() or share["id"] in r.body.decode()]
    assert not [r for r in hooks["other_channel"].accepted() if order["id"] in r.body.decode()]


async def test_a_slow_receiver_with_a_backlog_does_not_hold_up_another_endpoint(tenant: Any, receiver: Any) -> None:
    slow = receiver(delay=0.2)  # 8 at a time: 40 a second
    fast = receiver()
    await endpoint(tenant, slow.url, ["test.slow"])
    await endpoint(tenant, fast.url, ["test.fast"])
    async with db().transaction():
        for n in range(300):
            await emit(tenant.id, "test.slow", {"n": n})
    await eventually(lambda: len(slow.requests) >= 8)
    async with db().transaction():
        for n in range(5):
            await emit(tenant.id, "test.fast", {"n": n})
    await eventually(lambda: len(fast.accepted()) == 5, timeout=30)
    assert len(slow.requests) < 250, "the fast endpoint waited for the slow one's backlog"


async def test_redeliveries_while_the_worker_records_never_fail(tenant: Any, receiver: Any) -> None:
    """Redelivery and the worker's records change the same delivery rows; on PostgreSQL they
    take them in one order, so neither waits on the other in a circle (a deadlock, a 500)."""
    import asyncio

    hooks = receiver()
    for _ in range(10):
        await endpoint(tenant, hooks.url, ["supplier.created"])
    await tenant.supplier("Popular")
    event = next(e for e in await feed(tenant) if e["type"] == "supplier.created")
    await eventually(lambda: len(hooks.accepted()) >= 10)

    async def again() -> int:
        response = await tenant.call("POST", f"/v1/events/{event['id']}/redeliver")
        return int(response.status_code)

    statuses = []
    for _ in range(10):
        statuses += await asyncio.gather(*(again() for _ in range(4)))
    assert set(statuses) == {202}
    await eventually(lambda: len(hooks.accepted()) >= 20)
