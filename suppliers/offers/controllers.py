"""HTTP for the offers area."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, patch, post
from litestar.params import FromQuery, JSONBody, PathParameter, QueryParameter

from gateway.http.fields import SKU_PATTERN, StatusChange
from gateway.http.idempotency import IdempotencyKey
from gateway.http.pagination import DEFAULT_LIMIT, Limit, after_param, make_page
from gateway.http.problems import responses
from gateway.ids import pattern
from gateway.tenancy.auth import operator_or_supplier, principal_of
from suppliers.offers import services
from suppliers.offers.schemas import OfferCreate, OfferOut, OfferPage, OfferUpdate

OfferId = Annotated[str, PathParameter(pattern=pattern("off"))]
SupplierFilter = Annotated[
    str | None,
    QueryParameter(name="supplier_id", pattern=pattern("sup"), description="Only this supplier's offers."),
]

SkuFilter = Annotated[
    str | None, QueryParameter(name="sku", pattern=SKU_PATTERN, description="Only the offers of this SKU.")
]


class OfferController(Controller):
    path = "/v1/offers"
    opt = {"scope_area": "catalogue"}  # OAuth scopes read:/write:catalogue (gateway.oauth.scopes)
    # guards go on each handler, not on the controller: Litestar would also put a controller's
    # guards on the automatic OPTIONS handler, which runs without authentication
    tags = ["offers"]

    @post(guards=[operator_or_supplier], responses=responses(404, 409, 413, 422), summary="Create an offer")
    async def create_offer(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[OfferCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> OfferOut:
        """A supplier offers a catalogue SKU at a wholesale price; the operator names the supplier
        in `supplier_id`. An unknown `sku` is a 404; a second offer for the same (supplier, sku)
        a 409 `offer-exists` (change the first with PATCH); a `min_retail_price` in another
        currency or below the wholesale price a 409."""
        return await services.create(principal_of(request), data)

    @get(guards=[operator_or_supplier], responses=responses(), summary="List offers")
    async def list_offers(
        self,
        request: Request[Any, Any, Any],
        limit: Limit = DEFAULT_LIMIT,
        after: after_param("off") = None,  # type: ignore[valid-type]
        sku: SkuFilter = None,
        supplier_id: SupplierFilter = None,
        active: FromQuery[bool | None] = None,
    ) -> OfferPage:
        """The operator sees every offer of the tenant; a supplier its own."""
        rows = await services.list_(principal_of(request), limit, after, sku, supplier_id, active)
        return make_page(OfferPage, rows, limit, services.to_out)

    @get("/{offer_id:str}", guards=[operator_or_supplier], responses=responses(404), summary="Retrieve an offer")
    async def get_offer(self, request: Request[Any, Any, Any], offer_id: OfferId) -> OfferOut:
        return await services.get(principal_of(request), offer_id)

    @patch(
        "/{offer_id:str}",
        guards=[operator_or_supplier],
        responses=responses(404, 409, 413),
        summary="Update an offer's prices",
    )
    async def update_offer(
        self, request: Request[Any, Any, Any], offer_id: OfferId, data: JSONBody[OfferUpdate]
    ) -> OfferOut:
        """Fields left out stay as they are; `min_retail_price: null` removes the floor. A stale
        `version` is a 409, and so are prices that break the rules of `POST /v1/offers`."""
        return await services.update(principal_of(request), offer_id, data)

    @post(
        "/{offer_id:str}/deactivate",
        guards=[operator_or_supplier],
        status_code=200,
        responses=responses(404, 409, 413, 422),
        summary="Deactivate an offer",
    )
    async def deactivate_offer(
        self,
        request: Request[Any, Any, Any],
        offer_id: OfferId,
        data: JSONBody[StatusChange | None] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> OfferOut:
        """The supplier stops offering the SKU: it can no longer stock it or be routed orders for it."""
        return await services.set_active(principal_of(request), offer_id, data.version if data else None, False)

    @post(
        "/{offer_id:str}/activate",
        guards=[operator_or_supplier],
        status_code=200,
        responses=responses(404, 409, 413, 422),
        summary="Reactivate an offer",
    )
    async def activate_offer(
        self,
        request: Request[Any, Any, Any],
        offer_id: OfferId,
        data: JSONBody[StatusChange | None] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> OfferOut:
        return await services.set_active(principal_of(request), offer_id, data.version if data else None, True)


#: the controllers of this area, mounted by suppliers.routes
ROUTES: list[Any] = [OfferController]
