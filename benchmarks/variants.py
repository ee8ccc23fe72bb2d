"""The "what if" variants of the gateway, patched in for one process only (the app's files are
not touched): each removes or replaces one cost of the authenticated GET path, so that its
share can be measured in-process (profile_auth_get.py) or served under load
(auth_get.py --gateway-variant ..., through benchmarks/gateway_variant.py).

These are measuring devices, not proposed code: each removes something production needs (the
request id and metrics of every answer, the rate limit, a fresh read of the row).

The request path they take apart (issue 13): `gateway.http.pipeline.RequestPipeline` (request
id, address limit, authentication with the per-process principal cache, credential limit,
idempotency), the handler's read (`gateway.records.get_one_as`), the app's response class
(`gateway.http.responses.GatewayResponse`) and its one `before_send` hook
(`gateway.http.pipeline.stamp_answer`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock


def _litestar_with(**changes: Any) -> list[Any]:
    """`gateway.app.Litestar` built with these arguments changed (patches of it chain: each wraps
    the one in place when it is made)."""
    import gateway.app

    build = gateway.app.Litestar

    def litestar(*args: Any, **kwargs: Any) -> Any:
        return build(*args, **{**kwargs, **changes})

    return [mock.patch("gateway.app.Litestar", litestar)]


def _without_answer_hook() -> list[Any]:
    """No `before_send` hook: no X-Request-Id, RateLimit headers, metrics, access log, CORS."""
    return _litestar_with(before_send=[])


def _litestar_response() -> list[Any]:
    """Litestar's own `Response` as the app's response class (the gateway's before issue 13)."""
    from litestar import Response

    return _litestar_with(response_class=Response)


def _without_metrics() -> list[Any]:
    return [mock.patch("gateway.metrics.observe_request", lambda *args: None)]


def _read_from_memory() -> list[Any]:
    """The supplier read answered from a dict after its first SELECT (what the SQL costs)."""
    import gateway.parties

    read = gateway.parties.get_one_as
    rows: dict[tuple[Any, ...], Any] = {}

    async def get_one_as(out: Any, table: Any, kind: str, tenant_id: str, ident: str, filters: Any = None) -> Any:
        key = (out, tenant_id, ident, tuple((filters or {}).items()))
        if key not in rows:
            rows[key] = await read(out, table, kind, tenant_id, ident, filters)
        return rows[key]

    return [mock.patch("gateway.parties.get_one_as", get_one_as)]


def _minimal_pipeline() -> list[Any]:
    """A request layer that only sets the principal (found once per key, then reused): no request
    id, no address or credential limit, no idempotency (what the pipeline costs)."""
    from gateway.tenancy.auth import authenticate

    class MinimalPipeline:
        def __init__(self, app: Any, **_: Any) -> None:
            self.app = app
            self.principals: dict[bytes, Any] = {}

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                authorization = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
                principal = self.principals.get(authorization)
                if principal is None:
                    principal = await authenticate(scope, authorization.decode("latin-1"))
                    self.principals[authorization] = principal
                scope["user"] = principal
            await self.app(scope, receive, send)

    return [mock.patch("gateway.app.RequestPipeline", MinimalPipeline)]


def _pool_default_reset() -> list[Any]:
    """asyncpg's own reset on every release (`SELECT pg_advisory_unlock_all(); CLOSE ALL;
    UNLISTEN *; RESET ALL;`, a round trip per statement outside transactions) instead of the
    gateway's (`gateway.storage.postgres._release`)."""
    import asyncpg

    create_pool = asyncpg.create_pool

    def create_pool_with_default_reset(*args: Any, **kwargs: Any) -> Any:
        kwargs.pop("reset", None)
        return create_pool(*args, **kwargs)

    return [mock.patch("gateway.storage.postgres.asyncpg.create_pool", create_pool_with_default_reset)]


PATCHES: dict[str, Callable[[], list[Any]]] = {
    "litestar_response": _litestar_response,
    "no_answer_hook": _without_answer_hook,
    "no_metrics": _without_metrics,
    "read_from_memory": _read_from_memory,
    "minimal_pipeline": _minimal_pipeline,
    "pg_pool_default_reset": _pool_default_reset,
}

#: variants that only mean something on PostgreSQL
POSTGRES_ONLY = frozenset({"pg_pool_default_reset"})

#: "what if" variants, each on its own, then the three largest costs removed together
VARIANTS: list[tuple[str, list[str]]] = [
    ("as is", []),
    ("Litestar's own Response class", ["litestar_response"]),
    ("asyncpg's default pool reset (PostgreSQL)", ["pg_pool_default_reset"]),
    ("no before_send hook (id, metrics, CORS)", ["no_answer_hook"]),
    ("no metrics", ["no_metrics"]),
    ("supplier read from memory (no SQL)", ["read_from_memory"]),
    ("minimal pipeline (principal only)", ["minimal_pipeline"]),
    ("no hook + read from memory + minimal pipe", ["no_answer_hook", "read_from_memory", "minimal_pipeline"]),
]


def applicable(key: str) -> bool:
    """False when the app no longer has what the patch replaces (it would measure nothing)."""
    return bool(PATCHES[key]())


@contextlib.contextmanager
def patched(keys: list[str]) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for key in keys:
            for patch in PATCHES[key]():
                stack.enter_context(patch)
        yield
