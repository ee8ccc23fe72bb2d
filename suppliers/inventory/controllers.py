"""HTTP for the inventory ledger: `/v1/inventory/...` (operator, or a supplier for its own stock)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import JSONBody, PathParameter, QueryParameter

from gateway.http.fields import SKU_PATTERN
from gateway.http.idempotency import IdempotencyKey
from gateway.http.pagination import DEFAULT_LIMIT, Limit, after_param, make_page
from gateway.http.problems import responses
from gateway.ids import pattern
from gateway.tenancy.auth import operator_or_supplier, principal_of
from suppliers.inventory import services
from suppliers.inventory.schemas import (
    AdjustRequest,
    BatchResult,
    LevelPage,
    LocationId,
    MovementOut,
    MovementPage,
    ReservationCreate,
    ReservationOut,
    ReservationPage,
    SetRequest,
    Sku,
    TransferCreate,
    TransferOut,
    TransferPage,
)

TransferId = Annotated[str, PathParameter(pattern=pattern("trf"))]
ReservationId = Annotated[str, PathParameter(pattern=pattern("res"))]
LocationFilter = Annotated[LocationId | None, QueryParameter(name="location_id", pattern=pattern("loc"))]
SkuFilter = Annotated[Sku | None, QueryParameter(name="sku", pattern=SKU_PATTERN)]
Reason = Literal[
    "received", "sync", "correction", "damaged", "reserved", "reservation_released", "committed", "shipped",
    "cancelled", "returned", "transfer_out", "transfer_in",
]  # fmt: skip


def _convert(kind: type[Any]) -> Any:
    return lambda row: msgspec.convert(row, kind)


class InventoryController(Controller):
    path = "/v1/inventory"
    opt = {"scope_area": "inventory"}  # OAuth scopes read:/write:inventory (gateway.oauth.scopes)
    tags = ["inventory"]
    guards = [operator_or_supplier]

    @post("/set", status_code=200, responses=responses(409, 413, 422), summary="Set counted stock levels")
    async def set_inventory(
        self, request: Request[Any, Any, Any], data: JSONBody[SetRequest], idempotency_key: IdempotencyKey = None
    ) -> BatchResult:
        """Absolute counts, up to 10,000 per request, each with the supplier's `sequence` for
        that (location, sku): an item whose sequence is not above the last applied one is
        refused in its result and never applied. A count below what is reserved and committed
        is applied (it is the truth) and raises an `inventory.shortage` event."""
        return await services.set_levels(principal_of(request), data.items)

    @post("/adjust", status_code=200, responses=responses(409, 413, 422), summary="Adjust stock levels")
    async def adjust_inventory(
        self, request: Request[Any, Any, Any], data: JSONBody[AdjustRequest], idempotency_key: IdempotencyKey = None
    ) -> BatchResult:
        """Deltas with a reason, up to 10,000 per request. An item that would take `on_hand`
        below zero is refused. Send an `Idempotency-Key`: each item is then applied once even
        if a retry follows a crash."""
        return await services.adjust_levels(principal_of(request), data.items, idempotency_key)

    @get("/levels", responses=responses(), summary="List stock levels")
    async def list_levels(
        self,
        request: Request[Any, Any, Any],
        location_id: LocationFilter = None,
        sku: SkuFilter = None,
        limit: Limit = DEFAULT_LIMIT,
        after: after_param("lvl") = None,  # type: ignore[valid-type]
    ) -> LevelPage:
        rows = await services.list_rows(
            principal_of(request),
            "inventory_levels",
            services.LEVEL_COLUMNS,
            limit,
            after,
            {"location_id": location_id, "sku": sku},
        )
        return make_page(LevelPage, rows, limit, services.level_out)

    @get("/movements", responses=responses(), summary="List stock movements")
    async def list_movements(
        self,
        request: Request[Any, Any, Any],
        location_id: LocationFilter = None,
        sku: SkuFilter = None,
        reason: Annotated[Reason | None, QueryParameter(name="reason")] = None,
        limit: Limit = DEFAULT_LIMIT,
        after: after_param("mov") = None,  # type: ignore[valid-type]
    ) -> MovementPage:
        """Append-only: the sum of a level's movements is the level."""
        rows = await services.list_rows(
            principal_of(request),
            "inventory_movements",
            services.MOVEMENT_COLUMNS,
            limit,
            after,
            {"location_id": location_id, "sku": sku, "reason": reason},
        )
        return make_page(MovementPage, rows, limit, _convert(MovementOut))

    @post("/transfers", responses=responses(404, 409, 413, 422), summary="Start a transfer")
    async def create_transfer(
        self, request: Request[Any, Any, Any], data: JSONBody[TransferCreate], idempotency_key: IdempotencyKey = None
    ) -> TransferOut:
        """Between two locations of one supplier: the units leave the origin now and are in
        transit until received (or cancelled, which returns them)."""
        row = await services.create_transfer(
            principal_of(request), data.from_location_id, data.to_location_id, data.sku, data.qty, data.reference
        )
        return msgspec.convert(row, TransferOut)

    @get("/transfers", responses=responses(), summary="List transfers")
    async def list_transfers(
        self,
        request: Request[Any, Any, Any],
        status: Annotated[Literal["in_transit", "received", "cancelled"] | None, QueryParameter(name="status")] = None,
        limit: Limit = DEFAULT_LIMIT,
        after: after_param("trf") = None,  # type: ignore[valid-type]
    ) -> TransferPage:
        rows = await services.list_rows(
            principal_of(request), "transfers", services.TRANSFER_COLUMNS, limit, after, {"status": status}
        )
        return make_page(TransferPage, rows, limit, _convert(TransferOut))

    @get("/transfers/{transfer_id:str}", responses=responses(404), summary="Retrieve a transfer")
    async def get_transfer(self, request: Request[Any, Any, Any], transfer_id: TransferId) -> TransferOut:
        return msgspec.convert(await services.get_transfer(principal_of(request), transfer_id), TransferOut)

    @post(
        "/transfers/{transfer_id:str}/receive",
        status_code=200,
        responses=responses(404, 409, 422),
        summary="Receive a transfer",
    )
    async def receive_transfer(
        self, request: Request[Any, Any, Any], transfer_id: TransferId, idempotency_key: IdempotencyKey = None
    ) -> TransferOut:
        row = await services.finish_transfer(principal_of(request), transfer_id, "received")
        return msgspec.convert(row, TransferOut)

    @post(
        "/transfers/{transfer_id:str}/cancel",
        status_code=200,
        responses=responses(404, 409, 422),
        summary="Cancel a transfer",
    )
    async def cancel_transfer(
        self, request: Request[Any, Any, Any], transfer_id: TransferId, idempotency_key: IdempotencyKey = None
    ) -> TransferOut:
        row = await services.finish_transfer(principal_of(request), transfer_id, "cancelled")
        return msgspec.convert(row, TransferOut)

    @post("/reservations", responses=responses(404, 409, 413, 422), summary="Hold stock")
    async def create_reservation(
        self, request: Request[Any, Any, Any], data: JSONBody[ReservationCreate], idempotency_key: IdempotencyKey = None
    ) -> ReservationOut:
        """Takes `qty` from `available` until released, committed, or `ttl_seconds` pass (then it
        is released on its own). 409 `insufficient-stock` when fewer units are available."""
        row = await services.hold(
            principal_of(request),
            data.location_id,
            data.sku,
            data.qty,
            timedelta(seconds=data.ttl_seconds),
            data.reference,
        )
        return msgspec.convert(row, ReservationOut)

    @get("/reservations", responses=responses(), summary="List reservations")
    async def list_reservations(
        self,
        request: Request[Any, Any, Any],
        location_id: LocationFilter = None,
        status: Annotated[
            Literal["held", "released", "committed", "expired"] | None, QueryParameter(name="status")
        ] = None,
        limit: Limit = DEFAULT_LIMIT,
        after: after_param("res") = None,  # type: ignore[valid-type]
    ) -> ReservationPage:
        rows = await services.list_rows(
            principal_of(request),
            "reservations",
            services.RESERVATION_COLUMNS,
            limit,
            after,
            {"location_id": location_id, "status": status},
        )
        return make_page(ReservationPage, rows, limit, _convert(ReservationOut))

    @get("/reservations/{reservation_id:str}", responses=responses(404), summary="Retrieve a reservation")
    async def get_reservation(self, request: Request[Any, Any, Any], reservation_id: ReservationId) -> ReservationOut:
        return msgspec.convert(await services.get_reservation(principal_of(request), reservation_id), ReservationOut)

    @post(
        "/reservations/{reservation_id:str}/release",
        status_code=200,
        responses=responses(404, 409, 422),
        summary="Release a reservation",
    )
    async def release_reservation(
        self, request: Request[Any, Any, Any], reservation_id: ReservationId, idempotency_key: IdempotencyKey = None
    ) -> ReservationOut:
        row = await services.close_held(principal_of(request), reservation_id, "release")
        return msgspec.convert(row, ReservationOut)

    @post(
        "/reservations/{reservation_id:str}/commit",
        status_code=200,
        responses=responses(404, 409, 422),
        summary="Commit a reservation",
    )
    async def commit_reservation(
        self, request: Request[Any, Any, Any], reservation_id: ReservationId, idempotency_key: IdempotencyKey = None
    ) -> ReservationOut:
        """The held units become committed (an order will ship them)."""
        row = await services.close_held(principal_of(request), reservation_id, "commit")
        return msgspec.convert(row, ReservationOut)


ROUTES: list[Any] = [InventoryController]
