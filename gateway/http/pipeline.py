"""The one ASGI layer every request passes through, after routing and before its handler.

In order, each step as its own module decides it:

1. the request id is bound to the context for log lines (`gateway.http.context`);
2. the client address is refused at once while it is over its limit for requests without a
   valid credential (`gateway.http.ratelimit.AddressLimit`), so a flood of bad keys costs no
   lookup. Never for `/healthz`, `/readyz`, `/metrics` and CORS preflights;
3. the credential is authenticated (`gateway.tenancy.auth.authenticate`), except on public
   paths, handlers marked `exclude_from_auth` and OPTIONS (which Litestar answers itself);
4. the credential's own window is counted (`CredentialLimit`); its `RateLimit` headers are
   left in the scope state for `stamp_answer` to add to the answer, errors included;
5. a POST with `Idempotency-Key` runs through `gateway.http.idempotency` (its transaction,
   its replay); every other request goes straight to the handler;
6. afterwards, a request that ended without a valid credential counts for its address.

One layer instead of five: the headers are scanned once, and a GET pays for no idempotency
frame, no send wrapper, and no `ASGIConnection` (Litestar builds one per authentication
middleware) unless it carries an access token. Errors are raised as problems
(`gateway.http.problems`); Litestar's exception layer, outside this one, renders them.

`stamp_answer`, the app's one `before_send` hook, stamps every answer, errors included (those
of this layer and of routing, which Litestar renders outside it): request id, rate-limit
headers, metrics and access log (`gateway.http.context`), `Allow` (`gateway.http.allow`) and
CORS (`gateway.http.cors`). One hook rather than three: Litestar awaits each hook for each
message, body chunks included, and only the start message needs any of them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from gateway.http.allow import complete_allow_header
from gateway.http.context import ANSWER_HEADERS, bind_request_id, request_id_var, stamp_response
from gateway.http.cors import cors_headers, storefront_methods
from gateway.http.idempotency import IdempotencyMiddleware
from gateway.http.ratelimit import UNLIMITED_PATHS, AddressLimit, CounterStore, CredentialLimit, Network, client_address
from gateway.tenancy.auth import authenticate, authenticate_cached

#: the request headers the layer reads, found in one pass over the raw list
_WANTED = frozenset(
    {b"authorization", b"idempotency-key", b"origin", b"access-control-request-method", b"x-request-id"}
)


async def stamp_answer(message: Message, scope: Scope) -> None:
    """The app's `before_send` hook (see the module's text): acts on start messages only."""
    if message["type"] != "http.response.start":
        return
    stamp_response(message, scope)
    if scope["method"] == "OPTIONS":  # type: ignore[typeddict-item]
        complete_allow_header(message, scope)
    methods = storefront_methods(scope)
    if methods:
        await cors_headers(message, scope, methods)


class RequestPipeline:
    def __init__(
        self,
        app: ASGIApp,
        store: CounterStore,
        address_limit: int,
        limit: int,
        window: int,
        proxies: Sequence[Network] = (),
        public_paths: Sequence[str] = (),
        max_body_bytes: int = 1_048_576,
    ) -> None:
        self.app = app
        self.proxies = tuple(proxies)
        self.addresses = AddressLimit(store, address_limit, window, self.proxies)
        self.credentials = CredentialLimit(store, limit, window)
        self.public = re.compile("|".join(public_paths)) if public_paths else None
        self.idempotent = IdempotencyMiddleware(app, max_body_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            if name in _WANTED:
                headers.setdefault(name, value)
        token = request_id_var.set(bind_request_id(scope, headers.get(b"x-request-id")))
        method: str = scope.get("method", "GET")  # type: ignore[assignment]
        preflight = method == "OPTIONS" and b"origin" in headers and b"access-control-request-method" in headers
        address = None if preflight or scope["path"] in UNLIMITED_PATHS else client_address(scope, self.proxies)
        try:
            if address is not None:
                self.addresses.refuse_if_blocked(address)
            try:
                if not self._public(scope, method):
                    raw = headers.get(b"authorization")
                    authorization = raw.decode("latin-1") if raw else None
                    principal = authenticate_cached(scope, authorization) or await authenticate(scope, authorization)
                    scope["user"] = principal
                    scope["auth"] = principal.key_id
                    scope["state"][ANSWER_HEADERS] = await self.credentials.check(principal.key_id)  # type: ignore[typeddict-item]
                    if method == "POST" and b"idempotency-key" in headers:
                        await self.idempotent(scope, receive, send)
                    else:
                        await self.app(scope, receive, send)
                else:
                    await self.app(scope, receive, send)
            finally:
                if address is not None and scope.get("user") is None:  # no valid credential: counts for the address
                    await self.addresses.count(address)
        finally:
            request_id_var.reset(token)

    def _public(self, scope: Scope, method: str) -> bool:
        """Served without a credential: OPTIONS, handlers marked `exclude_from_auth`, public paths."""
        if method == "OPTIONS":
            return True
        handler = scope.get("route_handler")
        if handler is not None and handler.opt.get("exclude_from_auth"):
            return True
        return self.public is not None and self.public.search(scope["path"]) is not None
