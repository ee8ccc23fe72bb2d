"""CORS for the storefront: answered per publishable key, for its allowed origins only.

A partner's page (a bike-share app's web view) calls the storefront operations from the
browser with a publishable key, so the browser asks us first (DESIGN §13). What it sends:

- an actual request carries `Origin` when it is cross-origin, and for every non-GET/HEAD
  request; a same-origin GET carries none, only `Sec-Fetch-Site: same-origin` (the page is
  on the host it asks, so its origin is the request's own scheme and `Host`);
- a **preflight** (`OPTIONS` with `Access-Control-Request-Method`) carries no
  `Authorization`: there is no key to judge it by. So a storefront path's preflight is
  answered when *some* active publishable key allows that origin (`OriginDirectory`); the
  actual request that follows is judged by its own key (`gateway.tenancy.auth`), and a key
  that does not list the origin is refused with a 403 problem.

The answer (`Access-Control-Allow-Origin: <that origin>`, never `*`, with `Vary: Origin`)
is given only on operations marked `opt={"publishable": True}`, and only for a request made
with a publishable key that allows the origin, or for an error on such an operation from an
origin some key allows (so that a page on an allowed origin can show why it was refused:
a revoked key, a rate limit). Secret keys never get CORS answers: they must not live in
browsers. Everything here but `cors_headers` is pure.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.routes import HTTPRoute
from litestar.types import HTTPResponseStartEvent, Scope

#: an allowed origin as a key names it: scheme, host and optional port, lower case, no path;
#: or one of the two development wildcards (honoured only while the setting allows them)
LOCALHOST_WILDCARDS = ("http://localhost:*", "http://127.0.0.1:*")
ORIGIN_PATTERN = (
    r"^(https?://(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*)"
    r"(:[0-9]{1,5})?|http://localhost:\*|http://127\.0\.0\.1:\*)$"
)
_ORIGIN = re.compile(ORIGIN_PATTERN)
_LOOPBACK = re.compile(r"^http://(localhost|127\.0\.0\.1)(:[0-9]{1,5})?$")

#: request headers a storefront call may send (besides the CORS-safelisted ones)
ALLOWED_HEADERS = ("authorization", "content-type", "idempotency-key", "x-request-id")
#: response headers a page may read
EXPOSED_HEADERS = ("X-Request-Id", "RateLimit", "RateLimit-Policy", "Retry-After", "Idempotent-Replayed")
#: how long a browser may reuse a preflight answer
MAX_AGE_SECONDS = 600

#: "is this origin allowed by some active publishable key?" (the tenancy area answers it)
OriginDirectory = Callable[[str, bool], Awaitable[bool]]


def is_origin(value: str) -> bool:
    return _ORIGIN.match(value) is not None


def is_localhost_wildcard(value: str) -> bool:
    return value in LOCALHOST_WILDCARDS


def origin_allowed(origin: str | None, allowed: Iterable[str], allow_localhost: bool) -> bool:
    """Whether a page at `origin` may use a key that lists `allowed`. Exact match, except the
    two development wildcards, which match any port of localhost / 127.0.0.1 (or none) only
    while `GATEWAY_STOREFRONT_ALLOW_LOCALHOST=1`."""
    if not origin:
        return False
    for entry in allowed:
        if entry == origin:
            return True
        if allow_localhost and entry in LOCALHOST_WILDCARDS and _LOOPBACK.match(origin):
            host = origin.split("://", 1)[1].split(":", 1)[0]
            if entry == f"http://{host}:*":
                return True
    return False


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def request_origin(scope: Scope) -> str | None:
    """The origin of the page that made this request, as the browser vouches for it: the
    `Origin` header; or, for a same-origin request that carries none (a GET), the request's
    own scheme and host. None for a request from no page (a server, curl): then nothing
    vouches for a page at all."""
    origin = _header(scope, b"origin")
    if origin is not None:
        return None if origin == "null" else origin.lower()
    if _header(scope, b"sec-fetch-site") == "same-origin":
        host = _header(scope, b"host")
        if host:
            return f"{scope.get('scheme', 'http')}://{host.lower()}"
    return None


#: the key, in a handler's `opt`, of the storefront methods of its path (`mark_storefront_paths`)
STOREFRONT_METHODS_OPT = "storefront_methods"
_NONE: frozenset[str] = frozenset()


def mark_storefront_paths(routes: Iterable[Any]) -> None:
    """Give every handler of a path that a publishable key may call (a handler marked
    `opt={"publishable": True}`) the methods of that path it may call, in its `opt`: the answer of
    `storefront_methods`, read per response. Called once by the app factory, on `app.routes`."""
    found: dict[str, set[str]] = {}
    for route in routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                if handler.opt.get("publishable"):
                    found.setdefault(route.path_format, set()).update(handler.http_methods)
    for route in routes:
        if isinstance(route, HTTPRoute) and route.path_format in found:
            for handler in route.route_handlers:  # the path's OPTIONS handler included
                handler.opt[STOREFRONT_METHODS_OPT] = frozenset(found[route.path_format])


def storefront_methods(scope: Scope) -> frozenset[str]:
    """The methods of the matched path whose handlers a publishable key may call (empty when
    the path is no storefront path, or nothing was matched)."""
    handler = scope.get("route_handler")
    return _NONE if handler is None else handler.opt.get(STOREFRONT_METHODS_OPT, _NONE)  # type: ignore[no-any-return]


def preflight_acceptable(methods: frozenset[str], requested_method: str, requested_headers: str | None) -> bool:
    wanted = {h.strip().lower() for h in (requested_headers or "").split(",") if h.strip()}
    return requested_method.upper() in methods and wanted <= set(ALLOWED_HEADERS)


async def cors_headers(message: HTTPResponseStartEvent, scope: Scope, methods: frozenset[str]) -> None:
    """The CORS answer of a storefront operation (see the module's text), on the start message
    of a response for a path whose `storefront_methods` are `methods`. Called by the
    `before_send` hook (`gateway.http.pipeline.stamp_answer`), not by a middleware, so that
    errors raised by middleware (authentication, rate limits) get the same treatment as the
    handlers' answers."""
    headers = MutableScopeHeaders.from_message(message)
    headers["Vary"] = "Origin"
    origin = _header(scope, b"origin")
    if origin is None or origin == "null":
        return
    origin = origin.lower()
    state: Any = scope["app"].state
    allow_localhost = bool(getattr(state, "storefront_allow_localhost", False))
    directory: OriginDirectory | None = getattr(state, "origin_directory", None)
    requested = _header(scope, b"access-control-request-method")
    if scope.get("method") == "OPTIONS" and requested is not None:
        if not preflight_acceptable(methods, requested, _header(scope, b"access-control-request-headers")):
            return
        if directory is None or not await directory(origin, allow_localhost):
            return
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Allow-Methods"] = ", ".join(sorted(methods))
        headers["Access-Control-Allow-Headers"] = ", ".join(ALLOWED_HEADERS)
        headers["Access-Control-Max-Age"] = str(MAX_AGE_SECONDS)
        return
    if scope.get("method") not in methods:
        return  # the path serves a publishable key, this method does not (listing carts)
    user = scope.get("user")
    if getattr(user, "key_kind", None) == "publishable":
        allowed = origin_allowed(origin, getattr(user, "allowed_origins", ()), allow_localhost)
    else:
        # no principal (refused before or by authentication) or a secret key: an error from an
        # origin some publishable key allows may be read, so the page can say what went wrong
        allowed = user is None and message["status"] >= 400 and directory is not None
        allowed = allowed and await directory(origin, allow_localhost)  # type: ignore[misc]
    if allowed:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Expose-Headers"] = ", ".join(EXPOSED_HEADERS)
