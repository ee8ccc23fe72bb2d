from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.params import FromQuery, JSONBody, PathParameter

from gateway.http.fields import StatusChange, changes
from gateway.http.idempotency import IdempotencyKey
from gateway.http.pagination import DEFAULT_LIMIT, Limit, after_param, make_page
from gateway.http.problems import responses
from gateway.ids import pattern
from gateway.tenancy.auth import operator_only, principal_of
from suppliers.schemas import SupplierCreate, SupplierOut, SupplierPage, SupplierUpdate
from suppliers.services import suppliers

SupplierId = Annotated[str, PathParameter(pattern=pattern("sup"))]


class SupplierController(Controller):
    path = "/v1/suppliers"
    opt = {"scope_area": "parties"}  # OAuth scopes read:/write:parties (gateway.oauth.scopes)
    tags = ["suppliers"]

    @post(guards=[operator_only], responses=responses(409, 413, 422), summary="Create a supplier")
    async def create_supplier(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[SupplierCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> SupplierOut:
        return await suppliers.create(principal_of(request), msgspec.structs.asdict(data))

    @get(responses=responses(), summary="List suppliers")
    async def list_suppliers(
        self,
        request: Request[Any, Any, Any],
        limit: Limit = DEFAULT_LIMIT,
        after: after_param("sup") = None,  # type: ignore[valid-type]
        status: FromQuery[Literal["active", "inactive"] | None] = None,
    ) -> SupplierPage:
        """The operator sees every supplier of the tenant; a supplier sees itself."""
        rows = await suppliers.list(principal_of(request), limit, after, status)
        return make_page(SupplierPage, rows, limit, suppliers.to_out)

    @get("/{supplier_id:str}", responses=responses(404), summary="Retrieve a supplier")
    async def get_supplier(self, request: Request[Any, Any, Any], supplier_id: SupplierId) -> SupplierOut:
        return await suppliers.get(principal_of(request), supplier_id)

    @patch(
        "/{supplier_id:str}", guards=[operator_only], responses=responses(404, 409, 413), summary="Update a supplier"
    )
    async def update_supplier(
        self, request: Request[Any, Any, Any], supplier_id: SupplierId, data: JSONBody[SupplierUpdate]
    ) -> SupplierOut:
        return await suppliers.update(principal_of(request), supplier_id, data.version, changes(data))

    @post(
        "/{supplier_id:str}/deactivate",
        guards=[operator_only],
        status_code=200,
        responses=responses(404, 409, 413, 422),
        summary="Deactivate a supplier",
    )
    async def deactivate_supplier(
        self,
        request: Request[Any, Any, Any],
        supplier_id: SupplierId,
        data: JSONBody[StatusChange | None] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> SupplierOut:
        """An inactive supplier's keys stop working and its locations stop receiving orders."""
        return await suppliers.set_status(
            principal_of(request), supplier_id, data.version if data else None, "inactive"
        )

    @post(
        "/{supplier_id:str}/activate",
        guards=[operator_only],
        status_code=200,
        responses=responses(404, 409, 413, 422),
        summary="Reactivate a supplier",
    )
    async def activate_supplier(
        self,
        request: Request[Any, Any, Any],
        supplier_id: SupplierId,
        data: JSONBody[StatusChange | None] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> SupplierOut:
        return await suppliers.set_status(principal_of(request), supplier_id, data.version if data else None, "active")
