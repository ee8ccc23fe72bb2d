"""Lockout after repeated failures of a guarded action (guessing codes or passwords).

An action (`pickup-verify`, `oauth-login`, `client-secret`, ...) counts its failures per
**account** (what is being guessed at: a pickup point's credential, an email, a client id) and
per **client address**. When either reaches its limit within the window, the action is refused
with a 429 problem (`/problems/locked-out`, `Retry-After`) until the window ends, whether the
next guess would be right or wrong. A success clears the account's failures (not the
address's: one right guess must not unlock a spray over many accounts).

The counters live in the same store as the rate limits (Redis when configured, shared by every
process; memory otherwise), so a guesser cannot spread its tries over processes. Accounts are
hashed before they become store keys: an email never reaches Redis in clear.

    PICKUP = Lockout("pickup-verify")

    await PICKUP.check(request, account=principal.key_id)
    ok = ...
    await (PICKUP.succeeded if ok else PICKUP.failed)(request, account=principal.key_id)

The limits come from the settings (`GATEWAY_LOCKOUT_FAILURES` per account, four times that per
address, within `GATEWAY_LOCKOUT_SECONDS`) unless the action names its own.
"""

from __future__ import annotations

import hashlib
from typing import Any

from litestar.connection import ASGIConnection

from gateway import metrics
from gateway.http.problems import ProblemError
from gateway.http.ratelimit import REFUSALS, CounterStore, MemoryCounters, client_address
from gateway.settings import Settings

LOCKOUTS = metrics.counter("lockouts_total", "Guarded actions locked after repeated failures", ["action", "by"])

#: how many more failures an address may have than one account (offices share an address)
ADDRESS_FACTOR = 4


class Lockout:
    def __init__(self, action: str, *, failures: int | None = None, seconds: int | None = None) -> None:
        self.action = action
        self._failures = failures
        self._seconds = seconds

    def _setup(self, connection: ASGIConnection[Any, Any, Any, Any]) -> tuple[CounterStore, int, int, str]:
        state = connection.app.state
        settings: Settings = state.get("settings") or Settings()
        store: CounterStore = state.get("counters") or _LOCAL
        failures = self._failures or settings.lockout_failures
        seconds = self._seconds or settings.lockout_seconds
        address = client_address(connection.scope, settings.trusted_proxy_networks)
        return store, failures, seconds, address

    def _keys(self, account: str | None, address: str) -> list[tuple[str, str]]:
        keys = [("address", f"lock:{self.action}:ip:{address}")]
        if account is not None:
            digest = hashlib.sha256(f"{self.action}\n{account}".encode()).hexdigest()[:32]
            keys.insert(0, ("account", f"lock:{self.action}:acct:{digest}"))
        return keys

    async def check(self, connection: ASGIConnection[Any, Any, Any, Any], account: str | None) -> None:
        """Refuse with 429 while the account or the address is locked out."""
        store, failures, _, address = self._setup(connection)
        for by, key in self._keys(account, address):
            count, left = await store.get(key)
            if count >= (failures if by == "account" else failures * ADDRESS_FACTOR):
                REFUSALS.labels("lockout").inc()
                raise ProblemError(
                    429,
                    f"Too many failed attempts; locked for {left}s",
                    slug="locked-out",
                    title="Locked out",
                    headers={"Retry-After": str(left)},
                )

    async def failed(self, connection: ASGIConnection[Any, Any, Any, Any], account: str | None) -> None:
        store, failures, seconds, address = self._setup(connection)
        for by, key in self._keys(account, address):
            count, _ = await store.incr(key, seconds)
            if count == (failures if by == "account" else failures * ADDRESS_FACTOR):
                LOCKOUTS.labels(self.action, by).inc()

    async def succeeded(self, connection: ASGIConnection[Any, Any, Any, Any], account: str | None) -> None:
        if account is None:
            return
        store, _, _, address = self._setup(connection)
        await store.delete(self._keys(account, address)[0][1])


_LOCAL = MemoryCounters()
