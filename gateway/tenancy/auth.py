"""Bearer authentication and the guards every operation declares."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from gateway.http.problems import ProblemError
from gateway.tenancy.credentials import principal_for
from gateway.tenancy.principal import Principal

#: paths served without a credential
PUBLIC_PATHS = ["^/healthz$", "^/readyz$", "^/metrics$", "^/openapi", "^/docs"]


def _unauthenticated(detail: str) -> ProblemError:
    return ProblemError(401, detail, headers={"WWW-Authenticate": 'Bearer realm="gateway"'})


class BearerAuthenticationMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        header = connection.headers.get("authorization")
        if not header:
            raise _unauthenticated("Missing credentials: send `Authorization: Bearer <key>`")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthenticated("Malformed Authorization header: expected `Bearer <key>`")
        principal = await principal_for(token.strip())
        if principal is None:
            raise _unauthenticated("Invalid, revoked or inactive credential")
        if principal.key_kind == "publishable":
            _publishable_reaches(connection.scope.get("route_handler"))
        return AuthenticationResult(user=principal, auth=principal.key_id)


def _publishable_reaches(handler: BaseRouteHandler | None) -> None:
    """A publishable key lives in browsers: it reaches only handlers marked `opt={"publishable":
    True}` (storefront operations). Checked here, for every route, rather than as an app-wide
    guard: Litestar copies the handler object for each guard call, on every request, and that
    copy was a tenth of an authenticated GET."""
    if handler is None or not handler.opt.get("publishable"):
        raise ProblemError(403, "A publishable key cannot call this operation; use a secret key")


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    return connection.user  # type: ignore[no-any-return]


# -- guards ------------------------------------------------------------------------------------
# Guards are coroutines on purpose: Litestar runs a plain function guard in a worker thread,
# and that hop cost more than the whole rest of an authenticated GET (benchmarks/auth_get.py).


def _unauthenticated_options(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """Litestar answers OPTIONS itself, without authentication; a controller's guards still run
    for it. There is no principal to judge then, and nothing to protect."""
    return connection.scope.get("method") == "OPTIONS" and connection.scope.get("user") is None


async def operator_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if _unauthenticated_options(connection):
        return
    if not principal_of(connection).is_operator:
        raise ProblemError(403, "Only the operator may call this operation")


async def operator_or_supplier(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if _unauthenticated_options(connection):
        return
    if principal_of(connection).type not in ("operator", "supplier"):
        raise ProblemError(403, "Only the operator or a supplier may call this operation")


async def operator_or_channel(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if _unauthenticated_options(connection):
        return
    if principal_of(connection).type not in ("operator", "channel"):
        raise ProblemError(403, "Only the operator or a channel may call this operation")
