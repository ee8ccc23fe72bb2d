"""Revoking access tokens that are verified without the database.

An access token is a signed JWT checked locally (gateway.oauth.tokens), so revoking one cannot
delete a row. Instead a revocation names something tokens carry and a time: every token that
carries `key` and was issued at or before `before` (unix seconds) is refused.

    jti:<jti>                 one token (RFC 7009 revoke of an access token)
    grant:<grant id>          a refresh-token family (rotation reuse, revoke of a refresh token)
    authorization:<id>        everything a user's consent produced (DELETE of the consent)
    client:<client id>        a deactivated client, or one whose secret leaked
    user:<user id>            a deactivated user
    party:<sup_… | chn_…>     a deactivated supplier or channel

Each process holds every live revocation in a dict (one lookup per key a token carries, no
I/O per request) and polls `oauth_revocations` every `POLL_SECONDS` for rows recorded since
its last poll, minus an overlap that covers transactions committing late and clocks that
differ between hosts; re-reading a row is harmless (entries only ever widen). So another
process's revoke reaches this one within about half a second. A process whose last good
poll is older than `STALE_SECONDS` polls inline before it trusts a token, and refuses tokens
(503) while the database cannot answer: a revocation is never silently missed.

A revoke is applied to this process's dict at once, before its transaction commits: a
rollback leaves this process refusing tokens that were only meant to be revoked, which errs
on the safe side.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from gateway.clock import utcnow
from gateway.ids import new_id
from gateway.storage import db

log = logging.getLogger("gateway")

POLL_SECONDS = 0.5
STALE_SECONDS = 5.0
#: rows recorded this long before the last poll are read again (late commits, clock skew)
OVERLAP = timedelta(seconds=30)
#: `before` of revocations that refuse every token carrying the key, whenever issued
FOREVER = 2**62


class RevocationCache:
    def __init__(self) -> None:
        #: key → (before, expires at: unix seconds)
        self._entries: dict[str, tuple[int, float]] = {}
        self._polled_since: datetime | None = None
        self._fresh_at = float("-inf")  # monotonic time of the last successful poll

    def __len__(self) -> int:
        return len(self._entries)

    def revoked(self, keys: Sequence[str], issued_at: int) -> bool:
        entries = self._entries
        for key in keys:
            hit = entries.get(key)
            if hit is not None and issued_at <= hit[0]:
                return True
        return False

    def add(self, key: str, before: int, expires_at: float) -> None:
        known = self._entries.get(key)
        self._entries[key] = (
            (before, expires_at) if known is None else (max(known[0], before), max(known[1], expires_at))
        )

    @property
    def stale(self) -> bool:
        return time.monotonic() - self._fresh_at > STALE_SECONDS

    async def refresh(self) -> None:
        """Read what was recorded since the last poll (everything live, the first time). Two
        polls at once (no lock: the app may run on several event loops) only read twice."""
        started = utcnow()
        if self._polled_since is None:
            rows = await db().fetch(
                'SELECT key, "before", expires_at FROM oauth_revocations WHERE expires_at > ?', started
            )
        else:
            rows = await db().fetch(
                'SELECT key, "before", expires_at FROM oauth_revocations WHERE recorded_at >= ?',
                self._polled_since - OVERLAP,
            )
        for row in rows:
            self.add(row["key"], int(row["before"]), _epoch(row["expires_at"]))
        if self._polled_since is None or started > self._polled_since:
            self._polled_since = started
        self._fresh_at = time.monotonic()
        self._forget_expired()

    def _forget_expired(self) -> None:
        now = time.time()
        if any(expires < now for _, expires in self._entries.values()):
            self._entries = {key: entry for key, entry in self._entries.items() if entry[1] >= now}

    def forget_all(self) -> None:
        """For tests that start over."""
        self._entries.clear()
        self._polled_since = None
        self._fresh_at = float("-inf")


def _epoch(value: datetime | str) -> float:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


cache = RevocationCache()
#: the longest an access token may live (set from the settings at startup): how long a
#: revocation must be remembered
_horizon_seconds = 3600


def configure(access_token_seconds: int) -> None:
    global _horizon_seconds
    _horizon_seconds = access_token_seconds


async def revoke(keys: Iterable[str], *, everything: bool = False) -> None:
    """Refuse, from now on, tokens carrying any of `keys`: those issued so far, or with
    `everything` also any issued later (a family or consent that is over for good).
    Runs in the caller's transaction when there is one."""
    now = utcnow()
    before = FOREVER if everything else int(time.time() * 1000)
    expires_at = now + timedelta(seconds=_horizon_seconds + 60)
    rows = [(new_id("rev"), key, before, now, expires_at) for key in dict.fromkeys(keys)]
    await db().execute_many(
        'INSERT INTO oauth_revocations (id, key, "before", recorded_at, expires_at) VALUES (?, ?, ?, ?, ?)', rows
    )
    for _, key, _, _, _ in rows:
        cache.add(key, before, expires_at.timestamp())


async def ensure_fresh() -> None:
    """Before trusting a token: poll now if the background poll has not succeeded lately."""
    if cache.stale:
        await cache.refresh()


async def poll_forever() -> None:
    while True:
        await asyncio.sleep(POLL_SECONDS)
        try:
            await cache.refresh()
        except Exception:  # the next poll retries; requests poll inline once this is stale
            log.warning("revocation poll failed", exc_info=True)


async def purge_expired() -> int:
    """Drop rows no token can need any more (kept a day past their expiry, for the record)."""
    rows = await db().fetch(
        "DELETE FROM oauth_revocations WHERE expires_at < ? RETURNING id", utcnow() - timedelta(days=1)
    )
    return len(rows)
