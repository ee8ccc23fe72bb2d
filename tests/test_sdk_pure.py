"""The SDK's pure core, without a network: retry decisions, Retry-After, problems as typed
exceptions, row checks and batching, webhook verification against the reference library,
and that the generated sync client is up to date and the SDK stands alone."""

from __future__ import annotations

import base64
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from standardwebhooks import Webhook

from sdk import _core, errors
from sdk._core import Call, RetryPolicy, parse_retry_after, retry_delay
from sdk.models import BatchResult, SetItem
from sdk.stock import check_row, plan_batches, report
from sdk.webhooks import sign, verify_webhook

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
POST: Call[None] = _core.post("/v1/orders", None, {"x": 1})
PATCH: Call[None] = _core.patch("/v1/offers/off_1", type(None), {"version": 1})  # type: ignore[arg-type]
LOC = "loc_" + "0" * 26


def test_retry_after_in_seconds_or_an_http_date() -> None:
    assert parse_retry_after("7", NOW) == 7.0
    assert parse_retry_after(" 2.5 ", NOW) == 2.5
    assert parse_retry_after("Mon, 23 Nov 2026 12:00:30 GMT", NOW) == 30.0
    assert parse_retry_after("Mon, 23 Nov 2026 11:59:00 GMT", NOW) == 0.0  # in the past: now
    assert parse_retry_after("-3", NOW) == 0.0
    for garbage in (None, "", "soon", "nan", "inf"):
        assert parse_retry_after(garbage, NOW) is None


def test_which_failures_are_retried_and_how_long_after() -> None:
    policy = RetryPolicy(max_retries=3, backoff=1.0, max_backoff=5.0, max_retry_after=60)
    half = lambda: 0.5  # noqa: E731
    assert retry_delay(policy, POST, 0, None, rand=half) == 0.5  # connection dropped: backoff
    assert retry_delay(policy, POST, 2, 503, rand=half) == 2.0  # 0.5 x 1 x 2**2
    assert retry_delay(policy, POST, 5 - 3, 500, rand=lambda: 1.0) == 4.0
    assert retry_delay(RetryPolicy(backoff=1, max_backoff=5), POST, 3, 502, rand=lambda: 1.0) == 5.0  # capped
    assert retry_delay(policy, POST, 3, 503, rand=half) is None  # retries spent
    for status in (400, 401, 403, 404, 409, 413, 422):
        assert retry_delay(policy, POST, 0, status, rand=half) is None
    # Retry-After is a floor (plus a little spread), in seconds or as a date
    assert retry_delay(policy, POST, 0, 429, "10", NOW, rand=half) == 10.5
    assert retry_delay(policy, POST, 0, 503, "Mon, 23 Nov 2026 12:00:20 GMT", NOW, rand=lambda: 0.0) == 20.0
    assert retry_delay(policy, POST, 0, 429, "3600", NOW, rand=half) is None  # too long: raised, not slept
    # a PATCH is retried only when the gateway refused it before doing anything (429)
    assert retry_delay(policy, PATCH, 0, None, rand=half) is None
    assert retry_delay(policy, PATCH, 0, 503, rand=half) is None
    assert retry_delay(policy, PATCH, 0, 429, "1", NOW, rand=half) == 1.5


def test_a_post_carries_one_idempotency_key_for_all_its_attempts() -> None:
    call = _core.post("/v1/orders", None, {"x": 1})
    first, again = _core.headers_for(call, "Bearer k"), _core.headers_for(call, "Bearer k")
    assert first["Idempotency-Key"] == again["Idempotency-Key"] and first["Idempotency-Key"].startswith("sdk_")
    assert _core.post("/v1/orders", None, {"x": 1}).idempotency_key != call.idempotency_key
    assert _core.post("/v1/orders", None, idempotency_key="A-1001").idempotency_key == "A-1001"
    assert "Idempotency-Key" not in _core.headers_for(_core.get("/v1/orders", type(None)), None)
    assert _core.clean_params({"a": None, "b": True, "c": 3, "from_": "x"}) == {"b": "true", "c": "3", "from": "x"}


def test_problems_become_typed_exceptions_with_their_fields() -> None:
    body = msgspec.json.encode(
        {
            "type": "/problems/validation",
            "title": "Validation failed",
            "status": 400,
            "detail": "sku: bad",
            "errors": [{"field": "sku", "message": "bad"}],
            "extra_member": 1,
        }
    )
    problem = _core.problem(400, {"x-request-id": "req_1"}, body)
    assert isinstance(problem, errors.ValidationFailed) and isinstance(problem, errors.BadRequest)
    assert (problem.status, problem.title, problem.detail, problem.request_id) == (
        400,
        "Validation failed",
        "sku: bad",
        "req_1",
    )
    assert problem.errors == [{"field": "sku", "message": "bad"}] and problem.extra == {"extra_member": 1}
    out = _core.problem(409, {}, b'{"type":"/problems/out-of-stock","title":"Out of stock","status":409}')
    assert isinstance(out, errors.OutOfStock) and isinstance(out, errors.Conflict)
    limited = _core.problem(429, {"retry-after": "5"}, b"")
    assert isinstance(limited, errors.RateLimited) and limited.retry_after == 5.0
    assert isinstance(_core.problem(502, {}, b"<html>bad gateway</html>"), errors.ServerError)
    assert type(_core.problem(422, {}, b'{"type":"/problems/idempotency-mismatch"}')) is errors.Unprocessable
    oauth = _core.problem(401, {}, b'{"error":"invalid_client","error_description":"Client authentication failed"}')
    assert isinstance(oauth, errors.AuthenticationFailed)
    assert (oauth.title, oauth.detail) == ("invalid_client", "Client authentication failed")
    with pytest.raises(errors.NotFound):
        _core.decode(_core.get("/v1/x", dict), 404, {}, b'{"type":"/problems/not-found","title":"Not found"}')


def test_rows_are_checked_given_sequences_and_batched() -> None:
    base = 1_000
    assert check_row(3, {"location_id": LOC, "sku": "A-1", "on_hand": "12"}, base) == SetItem(
        location_id=LOC, sku="A-1", on_hand=12, sequence=1_003
    )
    assert check_row(
        0, {"location_id": LOC, "sku": "A-1", "on_hand": 1, "sequence": "7", "safety_stock": "2"}, base
    ) == (SetItem(location_id=LOC, sku="A-1", on_hand=1, sequence=7, safety_stock=2))
    for bad in (
        {"location_id": "store-1", "sku": "A", "on_hand": 1},
        {"location_id": LOC, "sku": "has space", "on_hand": 1},
        {"location_id": LOC, "sku": "A", "on_hand": "-1"},
        {"location_id": LOC, "sku": "A", "on_hand": "1.5"},
        {"location_id": LOC, "sku": "A", "on_hand": True},
        {"location_id": LOC, "sku": "A", "on_hand": 1, "sequence": "x"},
        {"location_id": LOC, "sku": "A", "on_hand": 1, "safety_stock": -2},
    ):
        refused = check_row(0, bad, base)
        assert not isinstance(refused, SetItem) and refused.code == "invalid_row", bad
    rows = [{"location_id": LOC, "sku": f"S{i}", "on_hand": i} for i in range(7)]
    rows.insert(2, {"location_id": "nope", "sku": "S", "on_hand": 1})
    batches = list(plan_batches(iter(rows), batch_size=3, base=base))
    assert [b.rows for b in batches] == [[0, 1, 3], [4, 5, 6], [7]]
    assert [r.row for r in batches[0].refused] == [2]
    answer = msgspec.convert(
        {
            "applied": 1,
            "unchanged": 1,
            "refused": 1,
            "results": [
                {"index": 0, "location_id": LOC, "sku": "S0", "status": "unchanged"},
                {"index": 1, "location_id": LOC, "sku": "S1", "status": "applied"},
                {
                    "index": 2,
                    "location_id": LOC,
                    "sku": "S2",
                    "status": "refused",
                    "error": {"code": "not_offered", "message": "m"},
                },
            ],
        },
        BatchResult,
    )
    mapped = report(batches[0], answer)
    assert (mapped.applied, mapped.unchanged, mapped.refused) == (1, 1, 2)
    assert sorted((r.row, r.status, r.code) for r in mapped.results) == [
        (0, "unchanged", None),
        (1, "applied", None),
        (2, "refused", "invalid_row"),
        (3, "refused", "not_offered"),
    ]
    with pytest.raises(ValueError):
        list(plan_batches(rows, batch_size=10_001))


SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
OLD = "whsec_" + base64.b64encode(b"an older secret of 32 bytes!!!!!").decode()
BODY = b'{"id":"evt_1","type":"order.created","created_at":"2026-11-23T12:00:00Z","data":{"id":"ord_1"}}'


def test_verify_webhook_agrees_with_the_reference_library() -> None:
    stamp = datetime.now(UTC).replace(microsecond=0)
    signature = Webhook(SECRET).sign("evt_1", stamp, BODY.decode())
    assert signature == sign(SECRET, "evt_1", int(stamp.timestamp()), BODY)
    headers = {"Webhook-Id": "evt_1", "Webhook-Timestamp": str(int(stamp.timestamp())), "Webhook-Signature": signature}
    event = verify_webhook(BODY, headers, SECRET)
    assert (event.id, event.type, event.data) == ("evt_1", "order.created", {"id": "ord_1"})
    # a rotation: two signatures, either secret verifies; the reference library agrees with ours
    both = {**headers, "Webhook-Signature": f"{sign(OLD, 'evt_1', int(stamp.timestamp()), BODY)} {signature}"}
    assert verify_webhook(BODY, both, OLD).id == "evt_1" and verify_webhook(BODY, both, [SECRET]).id == "evt_1"
    Webhook(OLD).verify(BODY, {k.lower(): v for k, v in both.items()})
    refusals = [
        (BODY + b" ", headers, SECRET),  # body changed
        (BODY, {**headers, "Webhook-Id": "evt_2"}, SECRET),  # id changed
        (BODY, headers, OLD),  # another secret
        (BODY, {k: v for k, v in headers.items() if k != "Webhook-Signature"}, SECRET),
        (BODY, {**headers, "Webhook-Signature": "v2," + signature[3:]}, SECRET),
    ]
    for body, hdrs, secret in refusals:
        with pytest.raises(errors.WebhookVerificationError):
            verify_webhook(body, hdrs, secret)
    later = (stamp + timedelta(minutes=6)).timestamp()
    with pytest.raises(errors.WebhookVerificationError, match="too old"):
        verify_webhook(BODY, headers, SECRET, now=later)
    assert verify_webhook(BODY, headers, SECRET, now=later, tolerance=600).id == "evt_1"


def test_the_sync_client_is_generated_from_the_async_one() -> None:
    done = subprocess.run([sys.executable, "-m", "sdk._unasync", "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_sdk_stands_alone() -> None:
    """It imports nothing of the server: installed on a supplier's machine, it needs only httpx,
    msgspec and rich."""
    code = (
        "import sys, sdk, sdk.cli; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('gateway', 'suppliers', 'channels', 'litestar', 'piccolo')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
