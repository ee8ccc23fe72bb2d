"""Bearer authentication and the guards every operation declares."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Scope

from gateway.http.cors import origin_allowed, request_origin
from gateway.http.problems import ProblemError
from gateway.oauth import scopes
from gateway.oauth import tokens as access_tokens
from gateway.oauth.config import issuer_of
from gateway.oauth.tokens import looks_like_jwt
from gateway.tenancy.credentials import cached_principal, looks_like_key, principal_for
from gateway.tenancy.principal import Principal

#: paths served without a credential (and handlers with `opt={"exclude_from_auth": True}`,
#: and OPTIONS, which Litestar answers itself)
PUBLIC_PATHS = ["^/healthz$", "^/readyz$", "^/metrics$", "^/openapi", "^/docs"]


def _unauthenticated(detail: str, invalid: bool = False) -> ProblemError:
    challenge = 'Bearer realm="gateway"' + (', error="invalid_token"' if invalid else "")
    return ProblemError(401, detail, headers={"WWW-Authenticate": challenge})


def _bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise _unauthenticated("Missing credentials: send `Authorization: Bearer <key>`")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthenticated("Malformed Authorization header: expected `Bearer <key>`")
    return token.strip()


def authenticate_cached(scope: Scope, authorization: str | None) -> Principal | None:
    """`authenticate` for a key whose principal is in this process's fresh cache (most requests),
    without an await; None when `authenticate` must run. Raises the same problems it would."""
    principal = cached_principal(_bearer_token(authorization))
    return None if principal is None else _reaches(scope, principal)


async def authenticate(scope: Scope, authorization: str | None) -> Principal:
    """The principal of a request's `Authorization` header (called by `gateway.http.pipeline`
    for every request that is not public, after `authenticate_cached`), or a 401/403 problem."""
    token = _bearer_token(authorization)
    if looks_like_key(token):
        principal = await principal_for(token)
    elif looks_like_jwt(token):  # an OAuth access token (gateway.oauth.tokens): verified locally, no query
        principal = await access_tokens.verify(token, issuer_of(ASGIConnection(scope)))
    else:
        principal = None
    if principal is None:
        raise _unauthenticated("Invalid, expired, revoked or inactive credential", invalid=True)
    return _reaches(scope, principal)


def _reaches(scope: Scope, principal: Principal) -> Principal:
    """A known principal, if it may call this operation from here (403 otherwise)."""
    if principal.key_kind == "publishable":
        _publishable_reaches(scope.get("route_handler"))
        _from_allowed_origin(scope, principal)
    elif principal.scopes is not None:
        _token_reaches(scope, principal)
    return principal


def _publishable_reaches(handler: BaseRouteHandler | None) -> None:
    """A publishable key lives in browsers: it reaches only handlers marked `opt={"publishable":
    True}` (storefront operations). Checked here, for every route, rather than as an app-wide
    guard: Litestar copies the handler object for each guard call, on every request, and that
    copy was a tenth of an authenticated GET."""
    if handler is None or not handler.opt.get("publishable"):
        raise ProblemError(403, "A publishable key cannot call this operation; use a secret key")


def _from_allowed_origin(scope: Scope, principal: Principal) -> None:
    """A publishable key is public (it is in the partner's page), so what it may do is bound
    to the pages it may be used from: the request's origin must be one the key allows
    (`gateway.http.cors`). A request from no page (no `Origin`, not same-origin) is refused too."""
    origin = request_origin(scope)
    allow_localhost = bool(getattr(scope["app"].state, "storefront_allow_localhost", False))
    if origin_allowed(origin, principal.allowed_origins, allow_localhost):
        return
    if origin is None:
        detail = "A publishable key is accepted only from a web page on one of its allowed origins; this request names no Origin"
    else:
        detail = f"This publishable key is not allowed from {origin}: add the origin to the key's allowed_origins"
    raise ProblemError(403, detail, slug="origin-not-allowed")


def _token_reaches(scope: Scope, principal: Principal) -> None:
    """An access token reaches an operation only with the scope the operation declares
    (gateway.oauth.scopes); 403 `insufficient_scope` otherwise (RFC 6750 §3.1)."""
    handler = scope.get("route_handler")
    method = str(scope.get("method", "GET"))
    if handler is None or method == "OPTIONS":
        return
    needed = scopes.needed(handler, method)
    if not principal.may(needed):
        raise scopes.insufficient_scope(f"This operation needs the scope {needed}; the token has not got it", needed)


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
