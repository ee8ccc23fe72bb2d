"""API key material: generation, hashing, and the lookup on every request."""

from __future__ import annotations

import hashlib
import secrets

from gateway.records import json_value
from gateway.storage import db
from gateway.tenancy.principal import KeyKind, Principal

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
PREFIX_LENGTH = 11  # "sk_" + 8 characters: enough to tell keys apart in a list, useless to an attacker


def generate(kind: KeyKind) -> str:
    """A new key: `sk_`/`pk_` then 32 base62 characters (190 bits)."""
    head = "sk_" if kind == "secret" else "pk_"
    return head + "".join(secrets.choice(_ALPHABET) for _ in range(32))


def digest(key: str) -> str:
    """Keys are random and long, so a fast hash is enough: nothing to brute-force."""
    return hashlib.sha256(key.encode()).hexdigest()


def looks_like_key(token: str) -> bool:
    return len(token) == 35 and token[:3] in ("sk_", "pk_")


_LOOKUP = """
SELECT k.id, k.tenant_id, k.owner_type, k.owner_id, k.kind, k.allowed_origins
FROM api_keys k
JOIN tenants t ON t.id = k.tenant_id AND t.status = 'active'
LEFT JOIN suppliers s ON k.owner_type = 'supplier' AND s.id = k.owner_id
LEFT JOIN channels c ON k.owner_type = 'channel' AND c.id = k.owner_id
WHERE k.secret_hash = ? AND k.status = 'active'
  AND (k.owner_type = 'operator' OR s.status = 'active' OR c.status = 'active')
"""


async def principal_for(key: str) -> Principal | None:
    """The principal behind a presented key, or None (unknown, revoked, or owner inactive)."""
    if not looks_like_key(key):
        return None
    rows = await db().fetch(_LOOKUP, digest(key))
    if not rows:
        return None
    row = rows[0]
    return Principal(
        tenant_id=row["tenant_id"],
        type=row["owner_type"],
        owner_id=row["owner_id"],
        key_id=row["id"],
        key_kind=row["kind"],
        allowed_origins=tuple(json_value(row["allowed_origins"]) or ()),
    )
