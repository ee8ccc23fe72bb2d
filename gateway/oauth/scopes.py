"""Scopes: what an OAuth access token may do (DESIGN §9), declared once per operation.

The vocabulary is `read:<area>` and `write:<area>` for each area in `AREAS`; `write:` implies
`read:` (a token granted `write:orders` may also read them).

**How an operation declares the scope it needs.** Give its controller (or router, or the
handler itself) an area in `opt`:

    class OrderController(Controller):
        path = "/v1/orders"
        opt = {"scope_area": "orders"}

`GET` and `HEAD` then need `read:orders`, every other method `write:orders`. A handler whose
method says the wrong thing (a `POST` that only reads) names its scope outright, which wins
over the area: `@post("/search", opt={"scope": "read:catalogue"})`. That is all: the scope is
enforced for access tokens in the bearer middleware and published in the OpenAPI document as
the operation's `oauth2` requirement, both from the same declaration (`apply`).

An operation under `/v1` that declares nothing refuses every access token (fail closed), is
published without an `oauth2` requirement, and `tests/test_scopes.py` fails naming it, so an
operation added later cannot slip through.

Secret keys carry every scope of their owner (`Principal.scopes is None`); what a party may do
at all is still decided by the guards (a supplier's token with `write:orders` cannot place an
order, because a supplier cannot).

Checking costs one dict lookup per request: `apply` resolves each handler's scope per method
once, when the app is built, into `opt["scopes_by_method"]`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: area → what it covers (the scope descriptions published in the OpenAPI and on consent pages)
AREAS: dict[str, str] = {
    "catalogue": "products, variants, offers and listings",
    "locations": "supplier locations: stores, warehouses, kitchens, pickup points",
    "inventory": "stock levels, movements, holds and transfers",
    "orders": "quotes, orders and the routing policy",
    "fulfilment": "fulfilment orders, pickups and supplier scorecards",
    "events": "the event feed",
    "webhooks": "webhook endpoints and deliveries",
    "statements": "statements and insight",
    "parties": "suppliers and channels",
    "credentials": "API keys, OAuth clients, users and authorised apps (the party's full power)",
}

#: how the consent page names each area, per language
AREA_LABELS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "catalogue": "商品、规格、供货报价与渠道上架",
        "locations": "供应商门店、仓库、厨房与自提点",
        "inventory": "库存水位、流水、预留与调拨",
        "orders": "报价、订单与路由策略",
        "fulfilment": "履约单、自提与供应商评分",
        "events": "事件流",
        "webhooks": "Webhook 端点与投递记录",
        "statements": "对账单与经营分析",
        "parties": "供应商与渠道资料",
        "credentials": "API 密钥、OAuth 应用、用户与已授权应用（等同该主体的全部权限）",
    },
}

ALL_SCOPES: tuple[str, ...] = tuple(f"{verb}:{area}" for area in AREAS for verb in ("read", "write"))
SCOPE_DESCRIPTIONS: dict[str, str] = {
    f"{verb}:{area}": f"{'Read' if verb == 'read' else 'Create and change'} {what}"
    for area, what in AREAS.items()
    for verb in ("read", "write")
}

_READ_METHODS = frozenset({"GET", "HEAD"})
#: what an operation that declares nothing needs: no token can hold it
UNDECLARED = "undeclared"


def expand(scopes: Iterable[str]) -> frozenset[str]:
    """The scopes a grant confers: each `write:` also confers its `read:`."""
    held = set(scopes)
    held.update(f"read:{scope[6:]}" for scope in list(held) if scope.startswith("write:"))
    return frozenset(held)


def parse(scope: str | None) -> list[str]:
    """A `scope` parameter (space-separated, RFC 6749 §3.3) as a list, in order, without repeats."""
    seen: list[str] = []
    for item in (scope or "").split():
        if item not in seen:
            seen.append(item)
    return seen


def unknown(scopes: Iterable[str]) -> list[str]:
    return [scope for scope in scopes if scope not in SCOPE_DESCRIPTIONS]


def required(opt: dict[str, Any], method: str) -> str | None:
    """The scope an operation needs for `method`, from its declaration; None if it has none."""
    if opt.get("scope"):
        return str(opt["scope"])
    area = opt.get("scope_area")
    if not area:
        return None
    if area not in AREAS:
        raise ValueError(f"unknown scope area {area!r}; add it to gateway.oauth.scopes.AREAS")
    return f"{'read' if method.upper() in _READ_METHODS else 'write'}:{area}"


def needed(handler: Any, method: str) -> str:
    """At request time: what the handler needs for this method (resolved by `apply`)."""
    by_method = handler.opt.get("scopes_by_method")
    if by_method is None:  # a handler the app factory did not see (tests build odd apps)
        return required(handler.opt, method) or UNDECLARED
    return by_method.get(method, UNDECLARED)  # type: ignore[no-any-return]


def apply(routes: Iterable[Any]) -> list[str]:
    """Resolve every handler's scope per method, and publish it in the OpenAPI document.

    Returns the `/v1` operations that declare no scope ("METHOD path"), for the caller to log;
    they refuse every token.
    """
    from litestar.handlers import HTTPRouteHandler

    undeclared: list[str] = []
    for route, handler in ((r, h) for r in routes for h in getattr(r, "route_handlers", ())):
        if not isinstance(handler, HTTPRouteHandler):
            continue
        by_method: dict[str, str] = {}
        for method in handler.http_methods:
            if method == "OPTIONS":  # Litestar answers it itself, without authentication
                continue
            scope = required(handler.opt, method)
            if scope is None:
                if route.path.startswith("/v1"):
                    undeclared.append(f"{method} {route.path}")
                continue
            by_method[method] = scope
        handler.opt["scopes_by_method"] = by_method
        published = sorted({scope for method, scope in by_method.items() if method != "HEAD"})
        if published and handler.security is None:
            handler.security = [{"bearerAuth": []}, {"oauth2": published}]
    return undeclared


def insufficient_scope(detail: str, scope: str | None = None) -> Any:
    """The 403 of RFC 6750 §3.1 as a problem: the token is fine, its scopes are not enough."""
    from gateway.http.problems import ProblemError

    challenge = 'Bearer realm="gateway", error="insufficient_scope"'
    if scope:
        challenge += f', scope="{scope}"'
    return ProblemError(
        403, detail, slug="insufficient-scope", title="Insufficient scope", headers={"WWW-Authenticate": challenge}
    )
