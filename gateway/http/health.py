"""Liveness and readiness, for load balancers and orchestrators. No credential needed."""

from __future__ import annotations

import msgspec
from litestar import get

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
