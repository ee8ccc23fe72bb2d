"""HTTP for fulfilment: a supplier works its fulfilment orders; pickups are verified by code."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import JSONBody, PathParameter, QueryParameter

from gateway.http.idempotency import IdempotencyKey
from gateway.http.lockout import Lockout
from gateway.http.pagination import DEFAULT_LIMIT, Limit, after_param
from gateway.http.problems import ProblemError, responses
from gateway.ids import pattern
from gateway.tenancy.auth import operator_or_supplier, principal_of
from suppliers.fulfilment import services
from suppliers.fulfilment.schemas import (
    FulfilmentOrderOut,
    FulfilmentOrderPage,
    FulfilmentStatus,
    PickupVerification,
    Rejection,
    Scorecard,
)

FulfilmentId = Annotated[str, PathParameter(pattern=pattern("ful"))]
SupplierId = Annotated[str, PathParameter(pattern=pattern("sup"))]
StatusFilter = Annotated[FulfilmentStatus | None, QueryParameter(name="status", description="Only this status.")]
LocationFilter = Annotated[
    str | None, QueryParameter(name="location_id", pattern=pattern("loc"), description="Only this location's.")
]
OrderFilter = Annotated[
    str | None, QueryParameter(name="order_id", pattern=pattern("ord"), description="Only this order's.")
]
SupplierFilter = Annotated[
    str | None, QueryParameter(name="supplier_id", pattern=pattern("sup"), description="Only this supplier's.")
]

_TRANSITION: dict[str, Any] = {
    "guards": [operator_or_supplier],
    "status_code": 200,
    "responses": responses(404, 409, 413, 422),
}


class FulfilmentOrderController(Controller):
    path = "/v1/fulfilment-orders"
    tags = ["fulfilment"]

    @get(guards=[operator_or_supplier], responses=responses(), summary="List fulfilment orders")
    async def list_fulfilment_orders(
        self,
        request: Request[Any, Any, Any],
        limit: Limit = DEFAULT_LIMIT,
        after: after_param("ful") = None,  # type: ignore[valid-type]
        status: StatusFilter = None,
        location_id: LocationFilter = None,
        order_id: OrderFilter = None,
        supplier_id: SupplierFilter = None,
    ) -> FulfilmentOrderPage:
        """A supplier sees the shipments routed to it (`?status=pending` is its inbox); the operator all."""
        return await services.list_(principal_of(request), limit, after, status, location_id, order_id, supplier_id)

    @get(
        "/{fulfilment_id:str}",
        guards=[operator_or_supplier],
        responses=responses(404),
        summary="Retrieve a fulfilment order",
    )
    async def get_fulfilment_order(
        self, request: Request[Any, Any, Any], fulfilment_id: FulfilmentId
    ) -> FulfilmentOrderOut:
        return await services.get(principal_of(request), fulfilment_id)

    @post("/{fulfilment_id:str}/accept", summary="Accept a fulfilment order", **_TRANSITION)
    async def accept_fulfilment_order(
        self, request: Request[Any, Any, Any], fulfilment_id: FulfilmentId, idempotency_key: IdempotencyKey = None
    ) -> FulfilmentOrderOut:
        """Before `accept_by`, or the share is re-routed to the next candidate."""
        return await services.act(principal_of(request), fulfilment_id, "accept")

    @post("/{fulfilment_id:str}/pick", summary="Start picking", **_TRANSITION)
    async def pick_fulfilment_order(
        self, request: Request[Any, Any, Any], fulfilment_id: FulfilmentId, idempotency_key: IdempotencyKey = None
    ) -> FulfilmentOrderOut:
        return await services.act(principal_of(request), fulfilment_id, "pick")

    @post("/{fulfilment_id:str}/ship", summary="Hand a delivery to the courier", **_TRANSITION)
    async def ship_fulfilment_order(
        self, request: Request[Any, Any, Any], fulfilment_id: FulfilmentId, idempotency_key: IdempotencyKey = None
    ) -> FulfilmentOrderOut:
        """The units leave stock (ledger `shipped`)."""
        return await services.act(principal_of(request), fulfilment_id, "ship")

    @post("/{fulfilment_id:str}/ready-for-pickup", summary="Put a pickup on the shelf", **_TRANSITION)
    async def mark_ready_for_pickup(
        self, request: Request[Any, Any, Any], fulfilment_id: FulfilmentId, idempotency_key: IdempotencyKey = None
    ) -> FulfilmentOrderOut:
        """The units leave stock; the consumer collects them with its code (`POST /v1/pickups/verify`)."""
        return await services.act(principal_of(request), fulfilment_id, "ready_for_pickup")

    @post("/{fulfilment_id:str}/deliver", summary="Confirm delivery", **_TRANSITION)
    async def deliver_fulfilment_order(
        self, request: Request[Any, Any, Any], fulfilment_id: FulfilmentId, idempotency_key: IdempotencyKey = None
    ) -> FulfilmentOrderOut:
        return await services.act(principal_of(request), fulfilment_id, "deliver")

    @post("/{fulfilment_id:str}/reject", summary="Reject a fulfilment order", **_TRANSITION)
    async def reject_fulfilment_order(
        self,
        request: Request[Any, Any, Any],
        fulfilment_id: FulfilmentId,
        data: JSONBody[Rejection],
        idempotency_key: IdempotencyKey = None,
    ) -> FulfilmentOrderOut:
        """The supplier cannot fill it: its stock is released and the share goes to the next
        candidate (`replaced_by` names the new fulfilment order; none when nowhere can fill it)."""
        return await services.reject(principal_of(request), fulfilment_id, data.reason)


#: pickup codes are short: guessing them is throttled per party and per address
PICKUP_CODES = Lockout("pickup-verify")


class PickupController(Controller):
    path = "/v1/pickups"
    tags = ["fulfilment"]

    @post(
        "/verify",
        guards=[operator_or_supplier],
        status_code=200,
        responses=responses(404, 409, 413, 422),
        summary="Hand over a pickup",
    )
    async def verify_pickup(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[PickupVerification],
        idempotency_key: IdempotencyKey = None,
    ) -> FulfilmentOrderOut:
        """The consumer shows its code: the matching order ready for pickup here is picked up.
        Wrong codes are counted per party and per client address: after a few (five by default,
        `GATEWAY_LOCKOUT_FAILURES`) verification is locked for a while (429 `locked-out`)."""
        principal = principal_of(request)
        account = f"{principal.tenant_id}:{principal.type}:{principal.owner_id}"
        await PICKUP_CODES.check(request, account)
        try:
            verified = await services.verify_pickup(principal, data.code)
        except ProblemError as refused:
            if refused.slug == "unknown-pickup-code":
                await PICKUP_CODES.failed(request, account)
            raise
        await PICKUP_CODES.succeeded(request, account)
        return verified


class ScorecardController(Controller):
    path = "/v1/suppliers/{supplier_id:str}/scorecard"
    tags = ["fulfilment"]

    @get(responses=responses(404), summary="A supplier's scorecard")
    async def get_scorecard(self, request: Request[Any, Any, Any], supplier_id: SupplierId) -> Scorecard:
        """Acceptance latency and perfect-order rate; routing breaks ties with `routing_reliability`.
        The operator reads every supplier's, a supplier its own; to anyone else it does not exist."""
        return await services.scorecard(principal_of(request), supplier_id)


ROUTES: list[Any] = [FulfilmentOrderController, PickupController, ScorecardController]
