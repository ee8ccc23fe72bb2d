"""Rate limits per credential (DESIGN §4): a fixed window per key id, or per client address
for requests that carry no valid credential.

The counter lives in memory, or in Redis when `GATEWAY_REDIS_URL` is set so that every
gateway process shares it. Every response says where the caller stands
(`RateLimit`, `RateLimit-Policy`); a refusal is a 429 problem with `Retry-After`.
"""

from __future__ import annotations

import time
from typing import Protocol

from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from gateway import metrics
from gateway.http.problems import ProblemError

REFUSALS = metrics.counter(
    "rate_limit_refusals_total",
    "Requests refused with 429: per credential, per client address, or locked out",
    ["scope"],
)


class CounterStore(Protocol):
    async def hit(self, bucket: str, window: int) -> int:
        """Count one request in `bucket` for the current window; return the count so far."""


class MemoryCounters:
    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._window_start = 0

    async def hit(self, bucket: str, window: int) -> int:
        start = int(time.time()) // window * window
        if start != self._window_start:
            self._counts.clear()
            self._window_start = start
        count = self._counts.get(bucket, 0) + 1
        self._counts[bucket] = count
        return count


class RedisCounters:
    def __init__(self, url: str) -> None:
        import redis.asyncio as redis

        self._url = url
        self._redis = redis
        self._clients: dict[int, object] = {}

    def _client(self):  # type: ignore[no-untyped-def]
        import asyncio

        loop_id = id(asyncio.get_running_loop())
        client = self._clients.get(loop_id)
        if client is None:
            client = self._redis.from_url(self._url)
            self._clients[loop_id] = client
        return client

    async def hit(self, bucket: str, window: int) -> int:
        start = int(time.time()) // window * window
        key = f"gateway:rl:{bucket}:{start}"
        pipe = self._client().pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, window * 2)
        count, _ = await pipe.execute()
        return int(count)


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, store: CounterStore, limit: int, window: int) -> None:
        self.app = app
        self.store = store
        self.limit = limit
        self.window = window
        self.policy = f"{limit};w={window}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = scope.get("user")
        key_id = getattr(user, "key_id", None)
        if key_id is not None:
            bucket = key_id
        else:
            client = scope.get("client")
            bucket = "ip:" + (client[0] if client else "unknown")
        count = await self.store.hit(bucket, self.window)
        reset = self.window - int(time.time()) % self.window
        remaining = max(self.limit - count, 0)
        headers = {
            "RateLimit-Policy": self.policy,
            "RateLimit": f"limit={self.limit}, remaining={remaining}, reset={reset}",
        }
        if count > self.limit:
            REFUSALS.labels("credential").inc()
            raise ProblemError(
                429,
                f"Rate limit of {self.limit} requests per {self.window}s exceeded; retry in {reset}s",
                headers={**headers, "Retry-After": str(reset)},
            )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableScopeHeaders.from_message(message)
                for name, value in headers.items():
                    response_headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
