"""The pure parts of webhooks: schedule, signatures (checked by `standardwebhooks`), filters,
what an answer means, which deliveries a claim takes, who hears an event, the address rules."""

from __future__ import annotations

import ipaddress
import random
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook

from gateway.webhooks import schedule, signing
from gateway.webhooks.delivery import decide, pick
from gateway.webhooks.fanout import audiences
from gateway.webhooks.filters import matches, normalised
from gateway.webhooks.sender import Answer
from gateway.webhooks.ssrf import address_problem, url_problem

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_the_default_schedule_retries_for_more_than_72_hours() -> None:
    assert len(schedule.DEFAULT_SCHEDULE) + 1 == 10  # attempts
    assert schedule.total(schedule.DEFAULT_SCHEDULE) >= 72 * 3600
    delays = [schedule.next_delay(n, schedule.DEFAULT_SCHEDULE) for n in range(1, 10)]
    assert all(d is not None for d in delays)
    assert schedule.next_delay(10, schedule.DEFAULT_SCHEDULE) is None  # the dead letter


def test_jitter_only_lengthens_a_wait() -> None:
    rand = random.Random(7)
    waits = [schedule.next_delay(1, (300,), rand=rand) for _ in range(200)]
    assert all(300 <= w <= 300 * (1 + schedule.JITTER) for w in waits if w is not None)
    assert len({round(w or 0) for w in waits}) > 20


def test_retry_after_is_honoured_within_a_day() -> None:
    assert schedule.retry_after("120", NOW) == 120
    assert schedule.retry_after("Mon, 23 Nov 2026 12:10:00 GMT", NOW) == 600
    assert schedule.retry_after("999999", NOW) == schedule.MAX_RETRY_AFTER
    assert schedule.retry_after("soon", NOW) is None
    assert schedule.next_delay(1, (5,), asked=120) == 120
    assert (schedule.next_delay(1, (500,), asked=120) or 0) >= 500


def test_schedules_parse_from_the_setting() -> None:
    assert schedule.parse("5s, 5m,2h,1d,250ms,3") == (5, 300, 7200, 86400, 0.25, 3)
    with pytest.raises(ValueError):
        schedule.parse("5 minutes")


def test_our_signatures_verify_with_the_reference_library() -> None:
    secret = signing.new_secret()
    assert secret.startswith("whsec_") and len(signing.secret_key(secret)) == 32
    body = '{"id":"evt_1","type":"order.created","data":{"name":"Café ☕"}}'.encode()
    stamp = int(datetime.now(UTC).timestamp())
    headers = signing.headers([signing.secret_key(secret)], "evt_1", stamp, body)
    assert Webhook(secret).verify(body, headers)["data"]["name"] == "Café ☕"
    tampered = body.replace(b"order", b"refund")
    with pytest.raises(Exception):
        Webhook(secret).verify(tampered, headers)


def test_filters() -> None:
    assert matches(["*"], "order.created")
    assert matches(["order.*"], "order.created") and matches(["order.*"], "order.customer_erased")
    assert not matches(["order.*"], "orders.created") and not matches(["order.*"], "fulfilment_order.created")
    assert matches(["inventory.transfer.*"], "inventory.transfer.completed")
    assert matches(["inventory.shortage"], "inventory.shortage") and not matches(["inventory.shortage"], "inventory.x")
    assert normalised(["order.*", "*", "order.*"]) == ["*"]
    assert normalised(["b.*", "a", "b.*"]) == ["b.*", "a"]


@pytest.mark.parametrize(
    ("code", "failures", "outcome", "status"),
    [
        (200, 0, "succeeded", "succeeded"),
        (204, 2, "succeeded", "succeeded"),
        (410, 0, "gone", "dead"),
        (500, 0, "failed", "pending"),
        (302, 0, "failed", "pending"),
        (500, 2, "failed", "dead"),  # the third failure spends a schedule of two waits
        (None, 0, "failed", "pending"),
    ],
)
def test_what_an_answer_means(code: int | None, failures: int, outcome: str, status: str) -> None:
    decision = decide(Answer(status_code=code), failures, (5, 300), NOW)
    assert (decision.outcome, decision.status) == (outcome, status)
    if status == "pending":
        assert decision.next_attempt_at is not None and decision.next_attempt_at >= NOW + timedelta(seconds=5)


def test_a_retry_after_only_counts_on_429_and_503() -> None:
    assert decide(Answer(status_code=503), 0, (5,), NOW, asked=600).next_attempt_at == NOW + timedelta(seconds=600)
    later = decide(Answer(status_code=500), 0, (5,), NOW, asked=600).next_attempt_at
    assert later is not None and later < NOW + timedelta(seconds=10)


def test_a_claim_takes_the_oldest_and_no_endpoint_beyond_its_share() -> None:
    due = [{"id": f"d{i}", "endpoint_id": "slow" if i < 6 else "other"} for i in range(10)]
    assert pick(due, {}, per_endpoint=2, limit=10) == ["d0", "d1", "d6", "d7"]
    assert pick(due, {"slow": 2}, per_endpoint=2, limit=10) == ["d6", "d7"]
    assert pick(due, {}, per_endpoint=8, limit=3) == ["d0", "d1", "d2"]


def test_an_event_reaches_the_operator_and_the_parties_it_names_in_its_own_tenant_only() -> None:
    at = "2026-11-23T10:00:00+00:00"
    endpoints = [
        {"id": "op", "tenant_id": "t1", "owner_type": "operator", "owner_id": None, "events": ["*"], "created_at": at},
        {
            "id": "s1",
            "tenant_id": "t1",
            "owner_type": "supplier",
            "owner_id": "sup_1",
            "events": ["*"],
            "created_at": at,
        },
        {
            "id": "c1",
            "tenant_id": "t1",
            "owner_type": "channel",
            "owner_id": "chn_1",
            "events": ["order.*"],
            "created_at": at,
        },
        {
            "id": "c2",
            "tenant_id": "t1",
            "owner_type": "channel",
            "owner_id": "chn_2",
            "events": ["*"],
            "created_at": at,
        },
        {
            "id": "other",
            "tenant_id": "t2",
            "owner_type": "operator",
            "owner_id": None,
            "events": ["*"],
            "created_at": at,
        },
        {
            "id": "late",
            "tenant_id": "t1",
            "owner_type": "operator",
            "owner_id": None,
            "events": ["*"],
            "created_at": "2026-11-23T11:00:00+00:00",
        },
    ]
    event = {
        "tenant_id": "t1",
        "supplier_id": "sup_1",
        "channel_id": "chn_1",
        "created_at": "2026-11-23T10:30:00+00:00",
    }
    events = [
        {**event, "id": "e1", "type": "fulfilment_order.shipped"},
        {**event, "id": "e2", "type": "order.created", "supplier_id": None},
        {**event, "id": "e3", "type": "supplier.updated", "channel_id": None},
    ]
    assert sorted(audiences(events, endpoints)) == [
        ("e1", "op"),
        ("e1", "s1"),
        ("e2", "c1"),
        ("e2", "op"),
        ("e3", "op"),
        ("e3", "s1"),
    ]


@pytest.mark.parametrize(
    ("address", "insecure", "allowed"),
    [
        ("93.184.216.34", False, True),
        ("2606:4700::1111", False, True),
        ("127.0.0.1", False, False),
        ("127.0.0.1", True, True),
        ("::1", True, True),
        ("10.1.2.3", True, False),
        ("172.16.0.1", True, False),
        ("192.168.0.1", True, False),
        ("169.254.169.254", True, False),
        ("fe80::1", True, False),
        ("fc00::1", True, False),
        ("::ffff:169.254.169.254", True, False),
        ("100.64.0.1", False, False),
        ("0.0.0.0", True, False),
        ("224.0.0.1", False, False),
    ],
)
def test_address_rules(address: str, insecure: bool, allowed: bool) -> None:
    assert (address_problem(ipaddress.ip_address(address), insecure) is None) is allowed


def test_url_rules() -> None:
    assert url_problem("https://hooks.example.com/x", False) is None
    assert url_problem("http://hooks.example.com/x", False) == "must be an https URL"
    assert url_problem("http://hooks.example.com/x", True) is None
    assert url_problem("https://a:b@hooks.example.com/", False) is not None
    assert url_problem("https://hooks.example.com:99999/", False) is not None
    assert url_problem("https://localhost:8443/", False) is not None
    assert url_problem("https://\U000525e2\u00f4b/", False) is not None  # no valid IDNA name
    assert url_problem("https://例え.jp/hooks", False) is None
