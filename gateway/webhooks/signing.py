"""Standard Webhooks v1 signatures (standardwebhooks.com), pure.

A secret is `whsec_` + standard base64 of random bytes; a signature is
`v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, and the header lists one per
secret in force, space-separated, so a receiver verifies with either while a rotation overlaps.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Sequence

PREFIX = "whsec_"
#: 32 random bytes: inside the spec's 24-64 and as strong as the HMAC-SHA256 key can use
SECRET_BYTES = 32


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_…` secret."""
    if not secret.startswith(PREFIX):
        raise ValueError("a webhook secret starts with whsec_")
    try:
        return base64.b64decode(secret[len(PREFIX) :], validate=True)
    except binascii.Error as error:
        raise ValueError("a webhook secret is whsec_ followed by base64") from error


def signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    signed = b"%s.%d.%s" % (message_id.encode(), timestamp, body)
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")


def headers(keys: Sequence[bytes], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt: `webhook-id` is the event id (the
    receiver's dedup key, the same on every retry), `webhook-timestamp` this attempt's time."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(key, message_id, timestamp, body) for key in keys),
    }
