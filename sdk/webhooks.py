"""Verify a Standard Webhooks delivery (standardwebhooks.com, v1 signatures).

    from sdk import verify_webhook, WebhookVerificationError

    try:
        event = verify_webhook(raw_body, request.headers, secret="whsec_…")
    except WebhookVerificationError:
        return 400
    handle(event.type, event.data)   # deduplicate on event.id: delivery is at least once

Verify the raw body as received, before parsing it. During a secret rotation the gateway signs
with both secrets; pass either (or both: `secret=[new, old]`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping

import msgspec

from sdk.errors import WebhookVerificationError
from sdk.models import Event

#: how far the attempt's timestamp may be from this machine's clock (the spec's 5 minutes)
DEFAULT_TOLERANCE = 300


def _key(secret: str) -> bytes:
    encoded = secret.removeprefix("whsec_")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as error:
        raise WebhookVerificationError("the secret is not a whsec_<base64> secret") from error


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise WebhookVerificationError(f"missing header {name}")


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `v1,<base64>` signature of one delivery (what the gateway sends)."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify_webhook(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str | Iterable[str],
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> Event:
    """The event of a delivery whose signature and timestamp check out; else
    `WebhookVerificationError`. `headers` may be any mapping (names are matched
    case-insensitively); `secret` one `whsec_…` or several (a rotation)."""
    raw = body.encode() if isinstance(body, str) else bytes(body)
    message_id = _header(headers, "webhook-id")
    stamp = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    try:
        timestamp = int(stamp)
    except ValueError as error:
        raise WebhookVerificationError("webhook-timestamp is not a unix time") from error
    current = time.time() if now is None else now
    if timestamp < current - tolerance:
        raise WebhookVerificationError("the delivery is too old (webhook-timestamp)")
    if timestamp > current + tolerance:
        raise WebhookVerificationError("the delivery is dated in the future (webhook-timestamp)")
    secrets = [secret] if isinstance(secret, str) else list(secret)
    expected = {sign(s, message_id, timestamp, raw).encode() for s in secrets}
    offered = [part.encode() for part in signatures.split() if part.startswith("v1,")]
    if not any(hmac.compare_digest(given, wanted) for given in offered for wanted in expected):
        raise WebhookVerificationError("no signature matches")
    try:
        return msgspec.json.decode(raw, type=Event)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise WebhookVerificationError(f"the body is not an event: {error}") from error
