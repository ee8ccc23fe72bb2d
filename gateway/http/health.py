"""Liveness, readiness and metrics, for load balancers, orchestrators and Prometheus. No API
credential needed (metrics have their own token)."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from litestar import Request, Response, get

from gateway import metrics
from gateway.http.openapi import PublicOperation
from gateway.http.problems import ProblemError, responses
from gateway.http.ratelimit import RedisCounters
from gateway.storage import db

_RATE_LIMITED = {429: responses()[429]}


class Health(msgspec.Struct, omit_defaults=True):
    #: `ok`; `degraded` when an optional dependency (Redis) is down and the gateway works without it
    status: str
    #: each dependency: `ok` or `down`
    checks: dict[str, str] | None = None


@get(
    "/healthz",
    exclude_from_auth=True,
    operation_class=PublicOperation,
    tags=["health"],
    summary="Liveness",
    responses=_RATE_LIMITED,
)
async def healthz() -> Health:
    """The process is up and serving. Depends on nothing: a database or Redis outage must not
    make an orchestrator restart healthy processes."""
    return Health(status="ok")


#: how long readiness waits for a dependency
PROBE_TIMEOUT_SECONDS = 2.0


@get(
    "/readyz",
    exclude_from_auth=True,
    operation_class=PublicOperation,
    tags=["health"],
    summary="Readiness",
    responses={**_RATE_LIMITED, 503: responses(503)[503]},
)
async def readyz(request: Request[Any, Any, Any]) -> Health:
    """Whether this process can take traffic, and which dependency is down. The database is
    required: without it, 503 naming it. Redis is optional (rate-limit counters fall back to
    memory): without it, 200 `degraded` with `redis: down`."""
    checks = {"database": "ok"}
    try:
        await asyncio.wait_for(db().fetch("SELECT 1 AS ok"), PROBE_TIMEOUT_SECONDS)
    except (Exception, TimeoutError) as error:
        raise ProblemError(503, "Not ready: the database does not answer", headers={"Retry-After": "5"}) from error
    counters = request.app.state.get("counters")
    if isinstance(counters, RedisCounters):
        checks["redis"] = "ok" if await counters.healthy() else "down"
    status = "ok" if all(value == "ok" for value in checks.values()) else "degraded"
    return Health(status=status, checks=checks)


def metrics_endpoint(token: str | None) -> Any:
    """`GET /metrics`: Prometheus text, summed over the server's workers (`gateway.metrics`).
    Only with `GATEWAY_METRICS_TOKEN` set, and only for a caller presenting it; otherwise the
    same 404 as any unknown path, so its existence tells nothing."""

    @get("/metrics", exclude_from_auth=True, include_in_schema=False)
    async def metrics_text(request: Request[Any, Any, Any]) -> Response[bytes]:
        if not metrics.token_matches(token, request.headers.get("authorization")):
            raise ProblemError(404, "Not Found")
        body, content_type = metrics.render()
        return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})

    return metrics_text
