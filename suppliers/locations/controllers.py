"""HTTP for the locations area."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, patch, post
from litestar.params import FromQuery, JSONBody, PathParameter, QueryParameter

from gateway.http.fields import StatusChange
from gateway.http.idempotency import IdempotencyKey
from gateway.http.pagination import DEFAULT_LIMIT, Limit, after_param, make_page
from gateway.http.problems import responses
from gateway.ids import pattern
from gateway.tenancy.auth import operator_or_supplier, principal_of
from suppliers.locations import services
from suppliers.locations.schemas import (
    LocationCreate,
    LocationKind,
    LocationOut,
    LocationPage,
    LocationStatus,
    LocationUpdate,
)

LocationId = Annotated[str, PathParameter(pattern=pattern("loc"))]
SupplierFilter = Annotated[
    str | None,
    QueryParameter(name="supplier_id", pattern=pattern("sup"), description="Only this supplier's locations."),
]


class LocationController(Controller):
    path = "/v1/locations"
    opt = {"scope_area": "locations"}  # OAuth scopes read:/write:locations (gateway.oauth.scopes)
    # guards go on each handler, not on the controller: Litestar would also put a controller's
    # guards on the automatic OPTIONS handler, which runs without authentication
    tags = ["locations"]

    @post(guards=[operator_or_supplier], responses=responses(404, 409, 413, 422), summary="Create a location")
    async def create_location(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[LocationCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> LocationOut:
        """A supplier creates its own locations; the operator names the supplier in `supplier_id`.
        An unknown `timezone` is a 404 naming the field."""
        return await services.create(principal_of(request), data)

    @get(guards=[operator_or_supplier], responses=responses(), summary="List locations")
    async def list_locations(
        self,
        request: Request[Any, Any, Any],
        limit: Limit = DEFAULT_LIMIT,
        after: after_param("loc") = None,  # type: ignore[valid-type]
        supplier_id: SupplierFilter = None,
        kind: FromQuery[LocationKind | None] = None,
        status: FromQuery[LocationStatus | None] = None,
    ) -> LocationPage:
        """The operator sees every location of the tenant; a supplier its own."""
        rows = await services.list_(principal_of(request), limit, after, supplier_id, kind, status)
        return make_page(LocationPage, rows, limit, services.to_out)

    @get("/{location_id:str}", guards=[operator_or_supplier], responses=responses(404), summary="Retrieve a location")
    async def get_location(self, request: Request[Any, Any, Any], location_id: LocationId) -> LocationOut:
        return await services.get(principal_of(request), location_id)

    @patch(
        "/{location_id:str}",
        guards=[operator_or_supplier],
        responses=responses(404, 409, 413),
        summary="Update a location",
    )
    async def update_location(
        self, request: Request[Any, Any, Any], location_id: LocationId, data: JSONBody[LocationUpdate]
    ) -> LocationOut:
        """Fields left out stay as they are; `null` clears `address`, `opening_hours` and
        `daily_capacity`. A stale `version` is a 409."""
        return await services.update(principal_of(request), location_id, data)

    @post(
        "/{location_id:str}/deactivate",
        guards=[operator_or_supplier],
        status_code=200,
        responses=responses(404, 409, 413, 422),
        summary="Deactivate a location",
    )
    async def deactivate_location(
        self,
        request: Request[Any, Any, Any],
        location_id: LocationId,
        data: JSONBody[StatusChange | None] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> LocationOut:
        """An inactive location keeps its stock but receives no orders."""
        return await services.set_status(principal_of(request), location_id, data.version if data else None, "inactive")

    @post(
        "/{location_id:str}/activate",
        guards=[operator_or_supplier],
        status_code=200,
        responses=responses(404, 409, 413, 422),
        summary="Reactivate a location",
    )
    async def activate_location(
        self,
        request: Request[Any, Any, Any],
        location_id: LocationId,
        data: JSONBody[StatusChange | None] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> LocationOut:
        return await services.set_status(principal_of(request), location_id, data.version if data else None, "active")


#: the controllers of this area, mounted by suppliers.routes
ROUTES: list[Any] = [LocationController]
