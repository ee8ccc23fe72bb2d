"""API key material: generation, hashing, and the lookup on every request.

The lookup is cached per process (digest → `Principal`): a key, its tenant and its owner are
read once, not on every request. A change that can make a cached principal wrong (a key
revoked or edited, a party deactivated) bumps one revision counter, `credential_revisions`, in
its own transaction (`changed`). Every process compares that counter with the one its cache
was filled under at most every `CHECK_SECONDS`, before it trusts the cache, and empties the
cache when they differ: a revoke in any process is refused by every other within
`CHECK_SECONDS` plus one query, on SQLite and PostgreSQL alike (no LISTEN/NOTIFY, which SQLite
lacks). Unknown keys are not cached: a flood of them is the address rate limit's business.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time

from gateway.records import json_value
from gateway.storage import db
from gateway.tenancy import owners
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


def _lookup_sql() -> str:
    """Active key, active tenant, active owner (the party tables are the domains':
    `gateway.tenancy.owners`, so the SQL is built on use; it is not on the hot path)."""
    return (
        "SELECT k.id, k.tenant_id, k.owner_type, k.owner_id, k.kind, k.allowed_origins FROM api_keys k "
        "JOIN tenants t ON t.id = k.tenant_id AND t.status = 'active' "
        f"WHERE k.secret_hash = ? AND k.status = 'active' AND {owners.active_sql('k')}"
    )


#: how stale this process's view of the revision may be before a request checks it again
CHECK_SECONDS = 0.25
_MAX_ENTRIES = 20_000
_REVISION_SQL = "SELECT revision FROM credential_revisions WHERE id = 'keys'"
_BUMP_SQL = (
    "INSERT INTO credential_revisions (id, revision) VALUES ('keys', 1) "
    "ON CONFLICT (id) DO UPDATE SET revision = credential_revisions.revision + 1"
)


class PrincipalCache:
    def __init__(self) -> None:
        self.entries: dict[str, Principal] = {}
        self._revision: int | None = None
        self._checked_at = float("-inf")  # monotonic start of the last completed check
        #: grows whenever the entries are dropped: a lookup that began under an older epoch
        #: does not store its (possibly stale) answer
        self.epoch = 0
        self._check: asyncio.Future[None] | None = None

    async def ensure_fresh(self) -> None:
        """Check the revision if the last check started `CHECK_SECONDS` ago or more. Requests
        arriving meanwhile wait for that check; if it failed, the next of them checks itself."""
        while time.monotonic() - self._checked_at >= CHECK_SECONDS:
            pending = self._check
            if pending is not None and not pending.done() and pending.get_loop() is asyncio.get_running_loop():
                await asyncio.wait([pending])
                continue
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._check = future
            try:
                started = time.monotonic()
                rows = await db().fetch(_REVISION_SQL)
                revision = int(rows[0]["revision"]) if rows else 0
                if revision != self._revision:
                    self._revision = revision
                    self.drop()
                self._checked_at = started
            finally:
                future.set_result(None)
                if self._check is future:
                    self._check = None

    def fresh_get(self, hashed: str) -> Principal | None:
        """The cached principal of a digest, if the cache needs no check now (`ensure_fresh`
        would return at once): the hot path of every request, without an await."""
        if time.monotonic() - self._checked_at >= CHECK_SECONDS:
            return None
        return self.entries.get(hashed)

    def drop(self) -> None:
        self.entries = {}
        self.epoch += 1

    def store(self, hashed: str, principal: Principal, epoch: int) -> None:
        if epoch != self.epoch:
            return
        if len(self.entries) >= _MAX_ENTRIES:
            self.entries = {}
        self.entries[hashed] = principal

    def forget_all(self) -> None:
        """Drop everything and check the revision on the next request (also for tests)."""
        self.drop()
        self._revision = None
        self._checked_at = float("-inf")


cache = PrincipalCache()


async def changed() -> None:
    """In the transaction of a change to keys or parties: every process's cached principals
    are dropped within `CHECK_SECONDS` of the commit (this process's at once)."""
    await db().fetch(_BUMP_SQL)
    cache.forget_all()


def cached_principal(key: str) -> Principal | None:
    """`principal_for` when its answer is in this process's fresh cache; None when it must be
    awaited (a check of the revision is due, or the key is not cached)."""
    return cache.fresh_get(digest(key)) if looks_like_key(key) else None


async def principal_for(key: str) -> Principal | None:
    """The principal behind a presented key, or None (unknown, revoked, or owner inactive)."""
    if not looks_like_key(key):
        return None
    hashed = digest(key)
    await cache.ensure_fresh()
    known = cache.entries.get(hashed)
    if known is not None:
        return known
    epoch = cache.epoch
    principal = await _lookup(hashed)
    if principal is not None:
        cache.store(hashed, principal, epoch)
    return principal


async def _lookup(hashed: str) -> Principal | None:
    rows = await db().fetch(_lookup_sql(), hashed)
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
