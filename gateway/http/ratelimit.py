"""Rate limits (DESIGN §4): per credential after authentication, per client address before it.

- `AddressLimit` runs **before** authentication. Requests that end without a valid
  credential (none, a bad or revoked key, public pages) count against their client address;
  once an address is over `GATEWAY_ADDRESS_RATE_LIMIT` in the window, its requests are refused
  with 429 before any key is looked up, so a flood of bad keys costs no database work.
  `/healthz`, `/readyz`, `/metrics` and CORS preflights are never limited.
- `CredentialLimit` runs after authentication: a fixed window per key (`GATEWAY_RATE_LIMIT`).

Both run inside the one request layer, `gateway.http.pipeline`.

The client address is the peer's, or, when the peer is one of `GATEWAY_TRUSTED_PROXIES`, the
nearest address in `X-Forwarded-For` that is not a trusted proxy.

Counters live in memory, or in Redis when `GATEWAY_REDIS_URL` is set so that every process
shares them. Redis failing never fails a request: each call has a short timeout
(`GATEWAY_REDIS_TIMEOUT_SECONDS`); on an error the store is marked down for a few seconds,
logged (once per episode) and counted (`gateway_counter_store_errors_total`), and the process
counts in memory meanwhile (limits still hold per process). `/readyz` reports it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Sequence
from typing import Any, Protocol

from litestar.types import Scope

from gateway import metrics
from gateway.http.problems import ProblemError

log = logging.getLogger("gateway.ratelimit")

REFUSALS = metrics.counter(
    "rate_limit_refusals_total",
    "Requests refused with 429: per credential, per client address, or locked out",
    ["scope"],
)
STORE_ERRORS = metrics.counter(
    "counter_store_errors_total", "Calls to the shared counter store (Redis) that failed or timed out; requests went on"
)

#: never limited: probes and scrapes must answer whatever a client does
UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class CounterStore(Protocol):
    """Counters with an expiry, shared by the processes that use the same store."""

    async def incr(self, key: str, ttl: int) -> tuple[int, int]:
        """Add one to `key` (created with a life of `ttl` seconds); return the count and the
        seconds it has left."""

    async def get(self, key: str) -> tuple[int, int]:
        """The count of `key` and its seconds left; (0, 0) when absent."""

    async def delete(self, key: str) -> None: ...

    async def healthy(self) -> bool:
        """False while a shared store does not answer."""


async def hit(store: CounterStore, bucket: str, window: int) -> tuple[int, int]:
    """Count one request in `bucket`'s current fixed window: (count, seconds to its end)."""
    now = int(time.time())
    start = now // window * window
    count, _ = await store.incr(f"{bucket}:{start}", window)
    return count, start + window - now


class MemoryCounters:
    """One process's counters; expired ones are dropped as the map grows."""

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float]] = {}

    async def incr(self, key: str, ttl: int) -> tuple[int, int]:
        now = time.monotonic()
        count, expires = self._counts.get(key, (0, 0.0))
        if expires <= now:
            count, expires = 0, now + ttl
            if len(self._counts) > 50_000:
                self._prune(now)
        self._counts[key] = (count + 1, expires)
        return count + 1, max(int(expires - now + 0.999), 1)

    async def get(self, key: str) -> tuple[int, int]:
        now = time.monotonic()
        count, expires = self._counts.get(key, (0, 0.0))
        return (count, max(int(expires - now + 0.999), 1)) if expires > now else (0, 0)

    async def delete(self, key: str) -> None:
        self._counts.pop(key, None)

    async def healthy(self) -> bool:
        return True

    def _prune(self, now: float) -> None:
        for key in [key for key, (_, expires) in self._counts.items() if expires <= now]:
            del self._counts[key]


class RedisCounters:
    """Counters in Redis, failing open: a call that errs or outlasts `timeout` is answered from
    this process's memory, and Redis is left alone for `retry_after` seconds."""

    def __init__(self, url: str, timeout: float = 0.25, retry_after: float = 5.0) -> None:
        import redis.asyncio as redis

        self._url = url
        self._redis = redis
        self._timeout = timeout
        self._retry_after = retry_after
        self._clients: dict[int, Any] = {}
        self._fallback = MemoryCounters()
        self._down_until = 0.0

    def _client(self) -> Any:
        loop_id = id(asyncio.get_running_loop())
        client = self._clients.get(loop_id)
        if client is None:
            client = self._redis.from_url(
                self._url, socket_timeout=self._timeout, socket_connect_timeout=self._timeout, retry_on_timeout=False
            )
            self._clients[loop_id] = client
        return client

    @property
    def down(self) -> bool:
        return time.monotonic() < self._down_until

    def _failed(self, error: BaseException) -> None:
        STORE_ERRORS.inc()
        if not self.down:
            log.warning("Redis counter store failed (%s): counting in memory for %ss", error, self._retry_after)
        self._down_until = time.monotonic() + self._retry_after

    async def _call(self, build: Any) -> Any:
        """Run the pipeline `build` fills, within the timeout; None when Redis failed."""
        if self.down:
            return None
        try:
            pipe = self._client().pipeline(transaction=False)
            build(pipe)
            return await asyncio.wait_for(pipe.execute(), self._timeout)
        except (Exception, TimeoutError) as error:
            self._failed(error)
            return None

    async def incr(self, key: str, ttl: int) -> tuple[int, int]:
        name = f"gateway:rl:{key}"

        def build(pipe: Any) -> None:
            pipe.set(name, 0, ex=ttl, nx=True)
            pipe.incr(name)
            pipe.ttl(name)

        result = await self._call(build)
        if result is None:
            return await self._fallback.incr(key, ttl)
        _, count, left = result
        return int(count), max(int(left), 1)

    async def get(self, key: str) -> tuple[int, int]:
        name = f"gateway:rl:{key}"

        def build(pipe: Any) -> None:
            pipe.get(name)
            pipe.ttl(name)

        result = await self._call(build)
        if result is None:
            return await self._fallback.get(key)
        value, left = result
        return (int(value), max(int(left), 1)) if value is not None else (0, 0)

    async def delete(self, key: str) -> None:
        await self._fallback.delete(key)
        await self._call(lambda pipe: pipe.delete(f"gateway:rl:{key}"))

    async def healthy(self) -> bool:
        try:
            await asyncio.wait_for(self._client().ping(), self._timeout)
        except (Exception, TimeoutError) as error:
            self._failed(error)
            return False
        self._down_until = 0.0
        return True


def make_counter_store(redis_url: str | None, timeout: float) -> CounterStore:
    return RedisCounters(redis_url, timeout=timeout) if redis_url else MemoryCounters()


# -- the client's address -----------------------------------------------------------------------


def _trusted(address: str, proxies: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(scope: Scope, proxies: Sequence[Network] = ()) -> str:
    """The address limits and lockouts count by (computed once per request)."""
    state = scope.setdefault("state", {})  # type: ignore[typeddict-item]
    known = state.get("client_address")
    if known is not None:
        return str(known)
    client = scope.get("client")
    address = client[0] if client else "unknown"
    if proxies and _trusted(address, proxies):
        forwarded: list[str] = []
        for name, value in scope.get("headers", ()):
            if name == b"x-forwarded-for":
                forwarded += [hop.strip() for hop in value.decode("latin-1").split(",") if hop.strip()]
        # the nearest hop our proxies did not add is the client; the rest is the client's say
        for hop in reversed(forwarded):
            address = hop[:64]
            if not _trusted(hop, proxies):
                break
    state["client_address"] = address
    return address


def is_preflight(scope: Scope) -> bool:
    if scope.get("method") != "OPTIONS":
        return False
    names = {name for name, _ in scope.get("headers", ())}
    return b"origin" in names and b"access-control-request-method" in names


def _limit_headers(limit: int, window: int, count: int, reset: int) -> dict[str, str]:
    return {
        "RateLimit-Policy": f"{limit};w={window}",
        "RateLimit": f"limit={limit}, remaining={max(limit - count, 0)}, reset={reset}",
    }


class AddressLimit:
    """Before authentication: requests without a valid credential, per client address
    (`gateway.http.pipeline` asks `refuse_if_blocked` first and `count` after the answer)."""

    def __init__(self, store: CounterStore, limit: int, window: int, proxies: Sequence[Network] = ()) -> None:
        self.store = store
        self.limit = limit
        self.window = window
        self.proxies = tuple(proxies)
        #: addresses over their limit, and until when (monotonic): refused without a store call
        self._blocked: dict[str, float] = {}

    def refuse_if_blocked(self, address: str) -> None:
        until = self._blocked.get(address)
        if until is None:
            return
        left = until - time.monotonic()
        if left <= 0:
            del self._blocked[address]
            return
        REFUSALS.labels("address").inc()
        reset = max(int(left + 0.999), 1)
        raise ProblemError(
            429,
            f"Too many unauthenticated requests from this address; retry in {reset}s",
            headers={**_limit_headers(self.limit, self.window, self.limit + 1, reset), "Retry-After": str(reset)},
        )

    async def count(self, address: str) -> None:
        """A request that ended without a valid credential counts for its address."""
        count, reset = await hit(self.store, f"ip:{address}", self.window)
        if count >= self.limit:
            if len(self._blocked) > 10_000:
                now = time.monotonic()
                self._blocked = {a: u for a, u in self._blocked.items() if u > now}
            self._blocked[address] = time.monotonic() + reset


class CredentialLimit:
    """After authentication: a fixed window per credential."""

    def __init__(self, store: CounterStore, limit: int, window: int) -> None:
        self.store = store
        self.limit = limit
        self.window = window
        self._policy = f"{limit};w={window}".encode()

    async def check(self, key_id: str) -> list[tuple[bytes, bytes]]:
        """Count the request; the `RateLimit` headers of its answer, or 429 over the limit."""
        now = int(time.time())  # `hit`, inlined: this runs on every authenticated request
        start = now // self.window * self.window
        count, _ = await self.store.incr(f"{key_id}:{start}", self.window)
        reset = start + self.window - now
        if count > self.limit:
            REFUSALS.labels("credential").inc()
            raise ProblemError(
                429,
                f"Rate limit of {self.limit} requests per {self.window}s exceeded; retry in {reset}s",
                headers={**_limit_headers(self.limit, self.window, count, reset), "Retry-After": str(reset)},
            )
        remaining = f"limit={self.limit}, remaining={self.limit - count}, reset={reset}".encode()
        return [(b"ratelimit-policy", self._policy), (b"ratelimit", remaining)]
