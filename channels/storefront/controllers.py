"""HTTP for the storefront (DESIGN §12-13).

Operations a publishable key may call carry `opt={"publishable": True}`: the bearer
middleware lets a publishable key reach those alone, from its allowed origins, and
`gateway.http.cors` answers CORS for them alone. A channel's secret key (its server) and the
operator reach them too; listing carts is for them only.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import JSONBody, PathParameter, QueryParameter

from channels.storefront import services
from channels.storefront.pages import ROUTES as PAGES
from channels.storefront.schemas import (
    Cart,
    CartCreate,
    CartCreated,
    CartPage,
    CartSecret,
    PickupPointPage,
    StorefrontProductDetail,
    StorefrontProductPage,
)
from gateway.http.idempotency import IdempotencyKey
from gateway.http.openapi import PublishableOperation
from gateway.http.pagination import DEFAULT_LIMIT, Limit, after_param
from gateway.http.problems import responses
from gateway.http.ratelimit import client_address
from gateway.ids import pattern
from gateway.settings import Settings
from gateway.tenancy.auth import operator_or_channel, principal_of

PUBLISHABLE = {"publishable": True}

ListingId = Annotated[str, PathParameter(pattern=pattern("lst"))]
CartId = Annotated[str, PathParameter(pattern=pattern("crt"))]
Lat = Annotated[
    float | None,
    QueryParameter(name="lat", ge=-90, le=90, description="The shopper's latitude (WGS84); with `lng`."),
]
Lng = Annotated[
    float | None,
    QueryParameter(name="lng", ge=-180, le=180, description="The shopper's longitude (WGS84); with `lat`."),
]
RequiredLat = Annotated[float, QueryParameter(name="lat", ge=-90, le=90, description="Latitude (WGS84).")]
RequiredLng = Annotated[float, QueryParameter(name="lng", ge=-180, le=180, description="Longitude (WGS84).")]
PickupPointFilter = Annotated[
    str | None,
    QueryParameter(
        name="pickup_point_id",
        pattern=pattern("loc"),
        description="Instead of lat/lng: what can be collected at this pickup point, and when.",
    ),
]
Search = Annotated[
    str | None,
    QueryParameter(
        name="q",
        min_length=1,
        max_length=100,
        pattern=r"^[^\x00-\x1f\x7f]*$",
        description="Only products whose title, variant title or sku contains this (any case).",
    ),
]
ChannelFilter = Annotated[
    str | None,
    QueryParameter(name="channel_id", pattern=pattern("chn"), description="The operator: only this channel's."),
]
RadiusKm = Annotated[
    float, QueryParameter(name="radius_km", gt=0, le=50, description="How far to look, km (default 5).")
]
SecretQuery = Annotated[
    str | None,
    QueryParameter(
        name="client_secret",
        pattern=r"^cs_[0-9A-Za-z]{32}$",
        description="The cart's client secret: required with a publishable key.",
    ),
]


def _settings(request: Request[Any, Any, Any]) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


class StorefrontController(Controller):
    path = "/v1/storefront"
    tags = ["storefront"]
    opt = {"scope_area": "orders"}  # OAuth scopes read:/write:orders (gateway.oauth.scopes)

    @get(
        "/products",
        guards=[operator_or_channel],
        opt=PUBLISHABLE,
        operation_class=PublishableOperation,
        responses=responses(404, 409),
        summary="Products that reach a point",
    )
    async def list_storefront_products(
        self,
        request: Request[Any, Any, Any],
        lat: Lat = None,
        lng: Lng = None,
        pickup_point_id: PickupPointFilter = None,
        q: Search = None,
        limit: Limit = DEFAULT_LIMIT,
        after: after_param("lst") = None,  # type: ignore[valid-type]
        channel_id: ChannelFilter = None,
    ) -> StorefrontProductPage:
        """The channel's listed products with their price. Given a point (`lat` and `lng`, or a
        `pickup_point_id`), only those that can reach it, each with `in_stock` and the promise of
        the location one unit would ship from now: `tier` (near: a store, minutes; mid: a forward
        warehouse, hours; far: next day), `eta_minutes` and `promised_at`. Without a point the
        promise fields are null. In listing order, paged with `after`."""
        return await services.products(
            principal_of(request),
            lat=lat,
            lng=lng,
            pickup_point_id=pickup_point_id,
            q=q,
            limit=limit,
            after=after,
            channel_id=channel_id,
        )

    @get(
        "/products/{listing_id:str}",
        guards=[operator_or_channel],
        opt=PUBLISHABLE,
        operation_class=PublishableOperation,
        responses=responses(404, 409),
        summary="A product, and its promise at a point",
    )
    async def get_storefront_product(
        self,
        request: Request[Any, Any, Any],
        listing_id: ListingId,
        lat: Lat = None,
        lng: Lng = None,
    ) -> StorefrontProductDetail:
        """One product (by its listing id, the `id` of the list) with description, media and
        options; with a point, whether and how fast it can be delivered there."""
        return await services.product(principal_of(request), listing_id, lat=lat, lng=lng, pickup_point_id=None)

    @get(
        "/pickup-points",
        guards=[operator_or_channel],
        opt=PUBLISHABLE,
        operation_class=PublishableOperation,
        responses=responses(),
        summary="Pickup points near a point",
    )
    async def list_pickup_points(
        self,
        request: Request[Any, Any, Any],
        lat: RequiredLat,
        lng: RequiredLng,
        radius_km: RadiusKm = 5.0,
        limit: Annotated[int, QueryParameter(name="limit", ge=1, le=50, description="At most (1–50).")] = 10,
    ) -> PickupPointPage:
        """Active locations that take pickups, within `radius_km`, nearest first."""
        return await services.pickup_points(principal_of(request), lat, lng, radius_km, limit)

    @post(
        "/carts",
        guards=[operator_or_channel],
        opt=PUBLISHABLE,
        operation_class=PublishableOperation,
        responses=responses(404, 409, 413, 422),
        summary="Create a cart",
    )
    async def create_cart(
        self, request: Request[Any, Any, Any], data: JSONBody[CartCreate], idempotency_key: IdempotencyKey = None
    ) -> CartCreated:
        """Prices the lines at the channel's listings, routes them to the nearest locations that
        can fill them and holds the stock briefly (`expires_at`). The answer's `client_secret`,
        with the cart's id, lets the channel's server place the order (`POST /v1/orders`).
        Capped: lines and units per cart (409 `cart-too-large`), open carts per key and per
        client address (429 `too-many-carts`, with `Retry-After`). Nothing reaches or nothing
        is left: 409 `no-location` / `out-of-stock`, and nothing is held."""
        settings = _settings(request)
        # behind trusted proxies, the shopper's address from X-Forwarded-For (as limits count it)
        host = client_address(request.scope, settings.trusted_proxy_networks)
        return await services.create_cart(principal_of(request), data, host, settings)

    @get("/carts", guards=[operator_or_channel], responses=responses(), summary="List carts")
    async def list_carts(
        self,
        request: Request[Any, Any, Any],
        limit: Limit = DEFAULT_LIMIT,
        after: after_param("crt") = None,  # type: ignore[valid-type]
        channel_id: ChannelFilter = None,
    ) -> CartPage:
        """For the channel's server and the operator (not for publishable keys)."""
        return await services.list_carts(principal_of(request), limit, after, channel_id)

    @get(
        "/carts/{cart_id:str}",
        guards=[operator_or_channel],
        opt=PUBLISHABLE,
        operation_class=PublishableOperation,
        responses=responses(404),
        summary="Retrieve a cart",
    )
    async def get_cart(
        self, request: Request[Any, Any, Any], cart_id: CartId, client_secret: SecretQuery = None
    ) -> Cart:
        """With a publishable key, `client_secret` must be the cart's."""
        return await services.get_cart(principal_of(request), cart_id, client_secret)

    @post(
        "/carts/{cart_id:str}/release",
        guards=[operator_or_channel],
        opt=PUBLISHABLE,
        operation_class=PublishableOperation,
        status_code=200,
        responses=responses(404, 409, 413, 422),
        summary="Release a cart's stock",
    )
    async def release_cart(
        self,
        request: Request[Any, Any, Any],
        cart_id: CartId,
        data: JSONBody[CartSecret | None] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Cart:
        """Gives the held stock back before the cart expires (the shopper changed it or left).
        With a publishable key, send the cart's `client_secret`."""
        return await services.release_cart(principal_of(request), cart_id, data.client_secret if data else None)


ROUTES: list[Any] = [StorefrontController, *PAGES]
