"""What the gateway serves to browsers besides the API: the widget's script, and a demo
partner page with its tiny backend (so that `python3 bootstrap.py serve` shows a working shop).

The widget and the page are package data (`assets/`), read once; no build step, no CDN.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources
from typing import Any, Literal

from litestar import Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromQuery, JSONBody

from channels.orders import services as orders
from channels.orders.schemas import CartId, ClientSecret, Customer, OrderCreate, OrderOut
from gateway.http.fields import Strict
from gateway.http.openapi import PublicOperation
from gateway.http.problems import ProblemError, responses
from gateway.storage import db
from gateway.tenancy.principal import Principal


@cache
def asset(name: str) -> bytes:
    return resources.files("channels.storefront").joinpath("assets", name).read_bytes()


@get(
    "/widget.js",
    exclude_from_auth=True,
    operation_class=PublicOperation,
    tags=["storefront"],
    summary="The embeddable shop widget",
    media_type="text/javascript",
    responses={
        200: ResponseSpec(
            data_container=str, description="The widget's module", media_type="text/javascript", generate_examples=False
        ),
        429: responses()[429],
    },
)
async def widget_js() -> Response[bytes]:
    """Loaded as a module script (`type="module"`, this URL as `src`), it defines the element
    `gateway-shop` (attributes `key="pk_…"`, `lang="zh-CN"`):
    a custom element listing the channel's products that reach the shopper, with price and
    promise, and a cart that it hands to the page as the `gateway:checkout` event. Any page may
    load the script (CORS `*`); what it may do is the publishable key's allowed origins'."""
    body = asset("widget.js")
    return Response(
        content=body,
        media_type="text/javascript; charset=utf-8",
        headers={
            "Cache-Control": "public, max-age=300",
            "ETag": f'"{hashlib.sha256(body).hexdigest()[:16]}"',
            # a module script from another origin is fetched with CORS; it is public code
            "Access-Control-Allow-Origin": "*",
            "Cross-Origin-Resource-Policy": "cross-origin",
        },
    )


# -- the demo partner ------------------------------------------------------------------------------


async def _demo_shop() -> dict[str, Any]:
    """The latest demo's channel and keys (`gateway demo` records them)."""
    rows = await db().fetch(
        "SELECT d.tenant_id, d.channel_id, d.publishable_key, d.server_key_id FROM storefront_demo_shops d "
        "JOIN api_keys k ON k.id = d.server_key_id AND k.status = 'active' ORDER BY d.created_at DESC LIMIT 1"
    )
    if not rows:
        raise ProblemError(404, "No demo shop here: run `gateway demo` first")
    return rows[0]


@get("/demo/shop", exclude_from_auth=True, include_in_schema=False, media_type="text/html")
async def demo_shop_page(
    request: Request[Any, Any, Any], lang: FromQuery[Literal["en", "zh-CN"]] = "en"
) -> Response[bytes]:
    """The demo partner's page: the widget with the demo channel's publishable key."""
    shop = await _demo_shop()
    gateway = str(request.base_url).rstrip("/")
    page = (
        asset("demo-shop.html")
        .decode()
        .replace("{{GATEWAY}}", gateway)
        .replace("{{KEY}}", shop["publishable_key"])
        .replace("{{LANG}}", lang)
    )
    return Response(content=page.encode(), media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-store"})


class DemoCheckout(Strict, kw_only=True):
    cart_id: CartId
    client_secret: ClientSecret
    customer: Customer | None = None


@post("/demo/shop/checkout", exclude_from_auth=True, include_in_schema=False)
async def demo_shop_checkout(data: JSONBody[DemoCheckout]) -> OrderOut:
    """The demo partner's backend: what a partner's server does with the widget's cart (takes
    the payment, then `POST /v1/orders {"cart_id", "client_secret", "customer"}` with its
    secret key). Here in process, as the demo channel's server key; one order per cart."""
    shop = await _demo_shop()
    server = Principal(
        tenant_id=shop["tenant_id"],
        type="channel",
        owner_id=shop["channel_id"],
        key_id=shop["server_key_id"],
        key_kind="secret",
    )
    body = OrderCreate(cart_id=data.cart_id, client_secret=data.client_secret, customer=data.customer)
    return await orders.place(server, body, f"demo-shop-{data.cart_id}")


ROUTES: list[Any] = [widget_js, demo_shop_page, demo_shop_checkout]
