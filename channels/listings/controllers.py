"""HTTP for the listings area."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, patch, post
from litestar.params import FromQuery, JSONBody, PathParameter, QueryParameter

from channels.listings import services
from channels.listings.schemas import ListingCreate, ListingOut, ListingPage, ListingPricePage, ListingUpdate
from gateway.http.fields import SKU_PATTERN, StatusChange
from gateway.http.idempotency import IdempotencyKey
from gateway.http.pagination import DEFAULT_LIMIT, Limit, after_param, make_page
from gateway.http.problems import responses
from gateway.ids import pattern
from gateway.tenancy.auth import operator_or_channel, principal_of

ListingId = Annotated[str, PathParameter(pattern=pattern("lst"))]
ChannelFilter = Annotated[
    str | None,
    QueryParameter(name="channel_id", pattern=pattern("chn"), description="Only this channel's listings."),
]
SkuFilter = Annotated[
    str | None, QueryParameter(name="sku", pattern=SKU_PATTERN, description="Only the listings of this SKU.")
]
#: the history's cursor is a version, not an id: entries are ordered by the version they took effect at
VersionCursor = Annotated[
    str | None,
    QueryParameter(
        name="after",
        pattern=r"^[1-9][0-9]{0,9}$",
        description="Return entries older than this version (the previous page's `next_cursor`).",
    ),
]


class ListingController(Controller):
    path = "/v1/listings"
    opt = {"scope_area": "catalogue"}  # OAuth scopes read:/write:catalogue (gateway.oauth.scopes)
    # guards go on each handler, not on the controller: Litestar would also put a controller's
    # guards on the automatic OPTIONS handler, which runs without authentication
    tags = ["listings"]

    @post(guards=[operator_or_channel], responses=responses(404, 409, 413, 422), summary="Create a listing")
    async def create_listing(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[ListingCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> ListingOut:
        """A channel lists a catalogue SKU at its own retail price; the operator names the channel
        in `channel_id`. An unknown `sku` is a 404; a SKU no active supplier offers a 409
        `sku-not-offered`; a price no active offer can fill (another currency, below every
        wholesale price: `price-below-cost`; below every cheap enough offer's minimum retail
        price: `price-below-minimum`) a 409 naming `price`; a second listing of the same sku by
        the same channel a 409 `listing-exists` (change the first with PATCH)."""
        return await services.create(principal_of(request), data)

    @get(guards=[operator_or_channel], responses=responses(), summary="List listings")
    async def list_listings(
        self,
        request: Request[Any, Any, Any],
        limit: Limit = DEFAULT_LIMIT,
        after: after_param("lst") = None,  # type: ignore[valid-type]
        sku: SkuFilter = None,
        channel_id: ChannelFilter = None,
        active: FromQuery[bool | None] = None,
    ) -> ListingPage:
        """The operator sees every listing of the tenant; a channel its own."""
        rows = await services.list_(principal_of(request), limit, after, sku, channel_id, active)
        return make_page(ListingPage, rows, limit, services.to_out)

    @get("/{listing_id:str}", guards=[operator_or_channel], responses=responses(404), summary="Retrieve a listing")
    async def get_listing(self, request: Request[Any, Any, Any], listing_id: ListingId) -> ListingOut:
        return await services.get(principal_of(request), listing_id)

    @patch(
        "/{listing_id:str}",
        guards=[operator_or_channel],
        responses=responses(404, 409, 413),
        summary="Change a listing's price",
    )
    async def update_listing(
        self, request: Request[Any, Any, Any], listing_id: ListingId, data: JSONBody[ListingUpdate]
    ) -> ListingOut:
        """A new price is checked as on `POST /v1/listings` and kept in the price history under
        the listing's new version. A stale `version` is a 409."""
        return await services.update(principal_of(request), listing_id, data)

    @get(
        "/{listing_id:str}/prices",
        guards=[operator_or_channel],
        responses=responses(404),
        summary="List a listing's price history",
    )
    async def list_listing_prices(
        self,
        request: Request[Any, Any, Any],
        listing_id: ListingId,
        limit: Limit = DEFAULT_LIMIT,
        after: VersionCursor = None,
    ) -> ListingPricePage:
        """Every price the listing has had, newest first, each with the version it took effect
        at: the price of version v is the first entry at or below v (activating or deactivating
        bumps the version without a new entry)."""
        rows = await services.price_history(principal_of(request), listing_id, limit, int(after) if after else None)
        has_more = len(rows) > limit
        return ListingPricePage(
            data=[services.price_to_out(row) for row in rows[:limit]],
            has_more=has_more,
            next_cursor=str(rows[limit - 1]["version"]) if has_more else None,
        )

    @post(
        "/{listing_id:str}/deactivate",
        guards=[operator_or_channel],
        status_code=200,
        responses=responses(404, 409, 413, 422),
        summary="Deactivate a listing",
    )
    async def deactivate_listing(
        self,
        request: Request[Any, Any, Any],
        listing_id: ListingId,
        data: JSONBody[StatusChange | None] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> ListingOut:
        """The channel stops selling the SKU: it keeps its price, and can no longer be quoted or ordered."""
        return await services.set_active(principal_of(request), listing_id, data.version if data else None, False)

    @post(
        "/{listing_id:str}/activate",
        guards=[operator_or_channel],
        status_code=200,
        responses=responses(404, 409, 413, 422),
        summary="Reactivate a listing",
    )
    async def activate_listing(
        self,
        request: Request[Any, Any, Any],
        listing_id: ListingId,
        data: JSONBody[StatusChange | None] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> ListingOut:
        """The price is checked again, as on `POST /v1/listings`: offers may have changed since."""
        return await services.set_active(principal_of(request), listing_id, data.version if data else None, True)


#: the controllers of this area, mounted through channels.component
ROUTES: list[Any] = [ListingController]
