"""HTTP for quotes and orders: what a channel (or the operator for it) calls to sell."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, get, post
from litestar.params import JSONBody, PathParameter, QueryParameter

from channels.orders import services
from channels.orders.schemas import OrderCreate, OrderOut, OrderPage, QuoteCreate, QuoteOut, QuotePage
from gateway.http.idempotency import IdempotencyKey
from gateway.http.pagination import DEFAULT_LIMIT, Limit, after_param, make_page
from gateway.http.problems import responses
from gateway.ids import pattern
from gateway.tenancy.auth import operator_or_channel, principal_of

QuoteId = Annotated[str, PathParameter(pattern=pattern("quo"))]
OrderId = Annotated[str, PathParameter(pattern=pattern("ord"))]
ChannelFilter = Annotated[
    str | None, QueryParameter(name="channel_id", pattern=pattern("chn"), description="Only this channel's orders.")
]
StatusFilter = Annotated[
    Literal["pending", "accepted", "shipped", "completed", "cancelled", "returned", "failed"] | None,
    QueryParameter(name="status", description="Only orders in this status."),
]
ReferenceFilter = Annotated[
    str | None,
    QueryParameter(
        name="reference", max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$", description="The channel's order number."
    ),
]


class QuoteController(Controller):
    path = "/v1/quotes"
    opt = {"scope_area": "orders"}  # OAuth scopes read:/write:orders (gateway.oauth.scopes)
    tags = ["orders"]

    @post(guards=[operator_or_channel], responses=responses(404, 409, 413, 422), summary="Create a quote")
    async def create_quote(
        self, request: Request[Any, Any, Any], data: JSONBody[QuoteCreate], idempotency_key: IdempotencyKey = None
    ) -> QuoteOut:
        """Prices the lines at the channel's listings, routes them to the nearest locations that
        can fill them and holds the stock until `expires_at`. No location reaching the
        destination: 409 `no-location`; not enough units: 409 `out-of-stock`; nothing is held then."""
        return await services.create_quote(principal_of(request), data)

    @get(guards=[operator_or_channel], responses=responses(), summary="List quotes")
    async def list_quotes(
        self,
        request: Request[Any, Any, Any],
        limit: Limit = DEFAULT_LIMIT,
        after: after_param("quo") = None,  # type: ignore[valid-type]
        channel_id: ChannelFilter = None,
    ) -> QuotePage:
        """A channel sees its own quotes, newest last; the operator every quote of the tenant."""
        rows = await services.list_quotes(principal_of(request), limit, after, channel_id)
        return make_page(QuotePage, rows, limit, services.quote_out)

    @get("/{quote_id:str}", guards=[operator_or_channel], responses=responses(404), summary="Retrieve a quote")
    async def get_quote(self, request: Request[Any, Any, Any], quote_id: QuoteId) -> QuoteOut:
        return await services.get_quote(principal_of(request), quote_id)

    @post(
        "/{quote_id:str}/release",
        guards=[operator_or_channel],
        status_code=200,
        responses=responses(404, 409, 413, 422),
        summary="Release a quote's stock",
    )
    async def release_quote(
        self, request: Request[Any, Any, Any], quote_id: QuoteId, idempotency_key: IdempotencyKey = None
    ) -> QuoteOut:
        return await services.release_quote(principal_of(request), quote_id)


class OrderController(Controller):
    path = "/v1/orders"
    opt = {"scope_area": "orders"}  # OAuth scopes read:/write:orders (gateway.oauth.scopes)
    tags = ["orders"]

    @post(guards=[operator_or_channel], responses=responses(404, 409, 413, 422), summary="Place an order")
    async def create_order(
        self, request: Request[Any, Any, Any], data: JSONBody[OrderCreate], idempotency_key: IdempotencyKey = None
    ) -> OrderOut:
        """From a `quote_id` (its held stock becomes the order's) or directly from lines and a
        destination. One fulfilment order per shipment, each with its routing explanation.
        Send an `Idempotency-Key`: a retry returns the same order, never a second one."""
        return await services.place(principal_of(request), data, idempotency_key)

    @get(guards=[operator_or_channel], responses=responses(), summary="List orders")
    async def list_orders(
        self,
        request: Request[Any, Any, Any],
        limit: Limit = DEFAULT_LIMIT,
        after: after_param("ord") = None,  # type: ignore[valid-type]
        status: StatusFilter = None,
        channel_id: ChannelFilter = None,
        reference: ReferenceFilter = None,
    ) -> OrderPage:
        """A channel sees its own orders; the operator every order of the tenant."""
        return await services.list_(principal_of(request), limit, after, status, channel_id, reference)

    @get("/{order_id:str}", guards=[operator_or_channel], responses=responses(404), summary="Retrieve an order")
    async def get_order(self, request: Request[Any, Any, Any], order_id: OrderId) -> OrderOut:
        return await services.get(principal_of(request), order_id)

    @post(
        "/{order_id:str}/cancel",
        guards=[operator_or_channel],
        status_code=200,
        responses=responses(404, 409, 413, 422),
        summary="Cancel an order",
    )
    async def cancel_order(
        self, request: Request[Any, Any, Any], order_id: OrderId, idempotency_key: IdempotencyKey = None
    ) -> OrderOut:
        """Until goods leave a location: every fulfilment order is cancelled and its stock freed."""
        return await services.cancel(principal_of(request), order_id)

    @post(
        "/{order_id:str}/return",
        guards=[operator_or_channel],
        status_code=200,
        responses=responses(404, 409, 413, 422),
        summary="Return a delivered order",
    )
    async def return_order(
        self, request: Request[Any, Any, Any], order_id: OrderId, idempotency_key: IdempotencyKey = None
    ) -> OrderOut:
        """Delivered or picked-up goods come back: restocked where they left, through the ledger."""
        return await services.return_(principal_of(request), order_id)

    @post(
        "/{order_id:str}/erase-customer",
        guards=[operator_or_channel],
        status_code=200,
        responses=responses(404, 413, 422),
        summary="Erase the consumer's personal data",
    )
    async def erase_customer(
        self, request: Request[Any, Any, Any], order_id: OrderId, idempotency_key: IdempotencyKey = None
    ) -> OrderOut:
        return await services.erase_customer(principal_of(request), order_id)


ROUTES: list[Any] = [QuoteController, OrderController]
