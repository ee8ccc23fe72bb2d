"""Brute-force limits on what the authorization server checks secrets for: users' passwords
(per account and per client address) and client secrets (per client and address).

After `failures` failed attempts within `seconds`, the key is locked until the oldest of them
leaves the window; a success clears the account's count. The counts live in this process
(`_Counter`): the smallest limiter that does the job, behind the four functions below, so a
shared store (the failure lockout of gateway.http, once there is one) can replace it without
touching the callers. With N gateway processes an attacker gets at most N × `failures` tries
per window, which still makes guessing a password or a 256-bit client secret hopeless.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from typing import Any

from litestar import Response

_failures = 5
_seconds = 900


class _Counter:
    def __init__(self) -> None:
        self._seen: dict[str, deque[float]] = {}

    def locked_for(self, key: str, limit: int, window: float) -> float:
        """Seconds until `key` may try again (0: it may now)."""
        times = self._seen.get(key)
        if not times:
            return 0.0
        now = time.monotonic()
        while times and times[0] <= now - window:
            times.popleft()
        if len(times) < limit:
            return 0.0
        return times[0] + window - now

    def fail(self, key: str) -> None:
        if len(self._seen) > 100_000:  # an attack on many keys: start over rather than grow
            self._seen.clear()
        self._seen.setdefault(key, deque(maxlen=1000)).append(time.monotonic())

    def clear(self, key: str) -> None:
        self._seen.pop(key, None)


_counter = _Counter()


def configure(failures: int, seconds: int) -> None:
    global _failures, _seconds
    _failures, _seconds = failures, seconds


def address_of(connection: Any) -> str:
    client = getattr(connection, "client", None)
    return str(client.host) if client is not None and client.host else "unknown"


# -- logins ------------------------------------------------------------------------------------


def login_wait(tenant_id: str, email: str, address: str) -> int:
    """Seconds before this account may try to log in from this address (0: now)."""
    waits = (
        _counter.locked_for(f"login:{tenant_id}:{email}", _failures, _seconds),
        # an address gets a few accounts' worth of tries: a shared office NAT is not locked out
        _counter.locked_for(f"login-address:{address}", _failures * 4, _seconds),
    )
    return int(max(waits) + 0.999)


def record_login(tenant_id: str, email: str, address: str, ok: bool) -> None:
    if ok:
        _counter.clear(f"login:{tenant_id}:{email}")
        return
    _counter.fail(f"login:{tenant_id}:{email}")
    _counter.fail(f"login-address:{address}")


# -- client secrets ----------------------------------------------------------------------------


async def client_refusal(client_ids: Iterable[str], address: str) -> Response[Any] | None:
    """An RFC 6749 `invalid_client` answer (429, `Retry-After`) while a client named by the
    request is locked for this address; None when it may try."""
    wait = max((_counter.locked_for(f"client:{cid}:{address}", _failures, _seconds) for cid in client_ids), default=0)
    if wait <= 0:
        return None
    seconds = int(wait + 0.999)
    return Response(
        content={
            "error": "invalid_client",
            "error_description": f"Too many failed client authentications; retry in {seconds} s",
        },
        status_code=429,
        headers={"Retry-After": str(seconds), "Cache-Control": "no-store"},
        media_type="application/json",
    )


async def record_client(clients: Iterable[Any], address: str) -> None:
    """Count a failure for each client whose secret was presented and did not match."""
    for client in clients:
        if getattr(client, "secret_failed", False):
            _counter.fail(f"client:{client.id}:{address}")
