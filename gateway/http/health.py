"""Liveness, readiness and metrics, for load balancers, orchestrators and Prometheus. No API
credential needed (metrics have their own token)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get

from gateway import metrics
from gateway.http.openapi import PublicOperation
from gateway.http.problems import ProblemError, responses
from gateway.storage import db

_RATE_LIMITED = {429: responses()[429]}


class Health(msgspec.Struct):
    status: str


@get(
    "/healthz",
    exclude_from_auth=True,
    operation_class=PublicOperation,
    tags=["health"],
    summary="Liveness",
    responses=_RATE_LIMITED,
)
async def healthz() -> Health:
    """The process is up and serving."""
    return Health(status="ok")


@get(
    "/readyz",
    exclude_from_auth=True,
    operation_class=PublicOperation,
    tags=["health"],
    summary="Readiness",
    responses={**_RATE_LIMITED, 503: responses(503)[503]},
)
async def readyz() -> Health:
    """The database answers: the process can take traffic."""
    try:
        await db().fetch("SELECT 1 AS ok")
    except Exception as error:
        raise ProblemError(503, "The database does not answer") from error
    return Health(status="ok")


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
