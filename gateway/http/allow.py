"""`Allow` on the automatic `OPTIONS` answer lists every method of the resource.

Litestar 2 builds a path's `OPTIONS` handler when the path's first handler is registered and
never updates it, so `OPTIONS /v1/suppliers` said `Allow: OPTIONS, POST` although `GET` is
served too (litestar-org/litestar#4169, fixed only in 3.x). Schemathesis checks `Allow`
against the contract (`allow_header_conformance`).
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.routes import HTTPRoute
from litestar.types import HTTPResponseStartEvent, Scope


def complete_allow_header(message: HTTPResponseStartEvent, scope: Scope) -> None:
    """Rewrite `Allow` of an OPTIONS answer's start message from the methods actually routed for
    the path (called by the `before_send` hook `gateway.http.pipeline.stamp_answer`)."""
    if scope.get("method") != "OPTIONS":
        return
    headers = MutableScopeHeaders.from_message(message)
    template = scope.get("path_template")
    app = scope.get("app")
    if "allow" not in headers or template is None or app is None:
        return
    for route in app.routes:  # OPTIONS is rare: a walk over the routes costs nothing that matters
        if isinstance(route, HTTPRoute) and route.path_format == template:
            headers["Allow"] = ", ".join(sorted(route.methods))
            return
