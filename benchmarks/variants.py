"""The "what if" variants of the gateway, patched in for one process only (the app's files are
not touched): each removes or replaces one cost found on the authenticated GET path, so that
its gain can be measured in-process (profile_auth_get.py) or served under load
(auth_get.py --gateway-variant ..., through benchmarks/gateway_variant.py).

These are measuring devices, not proposed code: a real change must keep the behaviour
(e.g. a cached principal must still stop working promptly when its key is revoked).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock


def _passthrough_middleware() -> type:
    class Passthrough:
        def __init__(self, app: Any, **_: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await self.app(scope, receive, send)

    return Passthrough


def _async_guard() -> list[Any]:
    """The app-wide publishable-key guard as a coroutine (Litestar runs a plain function guard in
    a worker thread). A no-op once the app has no such guard any more."""
    import gateway.app

    sync_guard = getattr(gateway.app, "publishable_keys_only_where_allowed", None)
    if sync_guard is None:
        return []  # already gone from the app

    async def publishable_keys_only_where_allowed(connection: Any, handler: Any) -> None:
        sync_guard(connection, handler)

    return [mock.patch("gateway.app.publishable_keys_only_where_allowed", publishable_keys_only_where_allowed)]


def _cached_principal_for(ttl: float = 5.0) -> Any:
    from gateway.tenancy import credentials

    lookup = credentials.principal_for
    cache: dict[str, tuple[Any, float]] = {}

    async def principal_for(key: str) -> Any:
        now = time.monotonic()
        hit = cache.get(key)
        if hit is not None and hit[1] > now:
            return hit[0]
        principal = await lookup(key)
        cache[key] = (principal, now + ttl)
        return principal

    return principal_for


def _pool_without_reset() -> list[Any]:
    """asyncpg's pool runs `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;` on
    every release: one more round trip per statement outside a transaction. The gateway keeps no
    session state (no SET, LISTEN, advisory locks or cursors), so a pool may skip it."""
    import asyncpg

    create_pool = asyncpg.create_pool

    async def no_reset(connection: Any) -> None:
        return None

    def create_pool_without_reset(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("reset", no_reset)
        return create_pool(*args, **kwargs)

    return [mock.patch("gateway.storage.postgres.asyncpg.create_pool", create_pool_without_reset)]


async def _noop_before_send(message: Any, scope: Any) -> None:
    return None


def _guard_in_auth_middleware() -> list[Any]:
    """The app-wide publishable-key guard checked inside the auth middleware instead: no guard
    call at all (Litestar copies the handler and, for a sync guard, hops to a thread per guard)."""
    from litestar import Litestar

    import gateway.app
    from gateway.http.problems import ProblemError
    from gateway.tenancy.auth import BearerAuthenticationMiddleware

    if not hasattr(gateway.app, "publishable_keys_only_where_allowed"):
        return []  # the app already checks publishable keys in its auth middleware

    class GuardingAuthentication(BearerAuthenticationMiddleware):
        async def authenticate_request(self, connection: Any) -> Any:
            result = await super().authenticate_request(connection)
            if result.user.key_kind == "publishable":
                handler = connection.scope.get("route_handler")
                if handler is None or not handler.opt.get("publishable"):
                    raise ProblemError(403, "A publishable key cannot call this operation; use a secret key")
            return result

    def litestar(*args: Any, **kwargs: Any) -> Litestar:
        guards = kwargs.get("guards") or []
        kwargs["guards"] = [g for g in guards if getattr(g, "__name__", "") != "publishable_keys_only_where_allowed"]
        return Litestar(*args, **kwargs)

    return [
        mock.patch("gateway.app.BearerAuthenticationMiddleware", GuardingAuthentication),
        mock.patch("gateway.app.Litestar", litestar),
    ]


PATCHES: dict[str, Callable[[], list[Any]]] = {
    "async_guard": _async_guard,
    "guard_in_auth": _guard_in_auth_middleware,
    "cached_principal": lambda: [mock.patch("gateway.tenancy.auth.principal_for", _cached_principal_for())],
    "pg_pool_no_reset": _pool_without_reset,
    "no_request_context": lambda: [
        mock.patch("gateway.app.RequestContextMiddleware", _passthrough_middleware()),
        mock.patch("gateway.app.stamp_response", _noop_before_send),
    ],
    "no_rate_limit": lambda: [mock.patch("gateway.app.RateLimitMiddleware", _passthrough_middleware())],
    "no_idempotency": lambda: [mock.patch("gateway.app.IdempotencyMiddleware", _passthrough_middleware())],
}

_LADDER = [
    "guard_in_auth",
    "cached_principal",
    "pg_pool_no_reset",
    "no_request_context",
    "no_rate_limit",
    "no_idempotency",
]

#: "what if" variants: two alone, then a ladder where each step keeps the ones above it
VARIANTS: list[tuple[str, list[str]]] = [
    ("as is", []),
    ("app-wide guard made async", ["async_guard"]),
    ("asyncpg pool without reset (PostgreSQL)", ["pg_pool_no_reset"]),
    ("guard check moved into auth middleware", _LADDER[:1]),
    (" + principal cached 5s in process", _LADDER[:2]),
    (" + asyncpg pool without reset (PostgreSQL)", _LADDER[:3]),
    (" + no request id / access-log hook", _LADDER[:4]),
    (" + no RateLimitMiddleware", _LADDER[:5]),
    (" + no IdempotencyMiddleware", _LADDER[:6]),
]


def applicable(key: str) -> bool:
    """False when the app already made this change (the patch would measure nothing)."""
    return bool(PATCHES[key]())


@contextlib.contextmanager
def patched(keys: list[str]) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for key in keys:
            for patch in PATCHES[key]():
                stack.enter_context(patch)
        yield
