"""Opaque, prefixed, time-sortable identifiers (DESIGN §3).

`sup_01jd…`: a prefix naming the resource, then a ULID in lower-case Crockford base32.
Ids made later in one process sort after earlier ones, so an id is also a cursor.
"""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_lock = threading.Lock()
_last_ms = 0
_last_rand = 0

PREFIXES = {
    "tenant": "ten",
    "supplier": "sup",
    "channel": "chn",
    "api_key": "key",
    "event": "evt",
    "location": "loc",
    "offer": "off",
    "product": "prod",
    "variant": "var",
    "order": "ord",
    "fulfilment": "ful",
    "user": "usr",
    "oauth_client": "cli",
    "authorization": "authz",
    "token_family": "grt",
    "signing_key": "sig",
    "revocation": "rev",
}


def _encode(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        out.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(out))


def new_id(prefix: str) -> str:
    """A new id: 48 bits of milliseconds, then 80 bits that increase within a millisecond."""
    global _last_ms, _last_rand
    with _lock:
        now = time.time_ns() // 1_000_000
        if now <= _last_ms:
            now = _last_ms
            _last_rand += 1
        else:
            _last_rand = int.from_bytes(os.urandom(10), "big") >> 1
        _last_ms = now
        value = (now << 80) | (_last_rand & ((1 << 80) - 1))
    return f"{prefix}_{_encode(value, 26)}"


def pattern(prefix: str) -> str:
    """The regular expression an id with this prefix matches (published in the OpenAPI)."""
    return f"^{prefix}_[0-9a-hjkmnp-tv-z]{{26}}$"
