"""Shapes of fulfilment orders: one shipment of an order, as its supplier and the channel see it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from gateway.http.fields import TEXT_PATTERN, Strict
from gateway.http.pagination import Page
from gateway.money import Money

FulfilmentStatus = Literal[
    "pending",
    "accepted",
    "picking",
    "shipped",
    "ready_for_pickup",
    "delivered",
    "picked_up",
    "rejected",
    "cancelled",
    "returned",
]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=TEXT_PATTERN)]
PickupCode = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6}$", description="The 6-digit code the consumer shows.")]


class FulfilmentLine(msgspec.Struct, kw_only=True):
    sku: str
    qty: int
    #: the channel's retail price per unit
    unit_price: Money
    #: what the supplier is paid per unit
    wholesale_price: Money


class Alternative(msgspec.Struct, kw_only=True):
    location_id: str
    distance_km: float
    tier: str
    eta_minutes: int


class Routing(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Why this shipment went where it went (DESIGN §6)."""

    #: the rule that decided: fewest_shipments, fastest_promise, nearest, reliability, ...
    rule: str
    rules: list[str]
    distance_km: float
    eta_minutes: int
    tier: str
    candidates_considered: int
    #: the next best locations at the time of the decision
    alternatives: list[Alternative] = []
    #: the fulfilment order whose share this one took over after a rejection
    replaces: str | None = None
    #: locations that were not eligible any more (they rejected this share before)
    excluded: list[str] = []


# named apart from the channel's `Destination`: schema names are class names and must be
# unique across the contract (generated clients drop models whose names collide)
class FulfilmentDestination(msgspec.Struct, kw_only=True):
    """Where to deliver: the consumer's coordinates."""

    lat: float
    lng: float


class FulfilmentOrderOut(msgspec.Struct, kw_only=True):
    id: str
    order_id: str
    supplier_id: str
    location_id: str
    mode: str
    #: where the consumer collects a pickup: this location or a pickup point
    pickup_location_id: str | None
    status: FulfilmentStatus
    lines: list[FulfilmentLine]
    #: what the consumer pays for this shipment's delivery (the supplier gets it)
    delivery_fee: Money
    tier: str
    eta_minutes: int
    distance_km: float
    promised_at: datetime
    #: a pending fulfilment order not accepted by then is re-routed to the next candidate
    accept_by: datetime
    routing: Routing
    #: a rejection's reason, or why the gateway re-routed it
    reason: str | None
    #: the fulfilment order that took over this share after a rejection
    replaced_by: str | None
    attempt: int
    #: where to deliver (the supplier needs it while the order is open)
    destination: FulfilmentDestination | None = None
    #: name, phone, address: shown to the fulfilling supplier until the order is finished
    customer: dict[str, Any] | None = None
    #: the consumer's pickup code; shown to the channel (and operator), never to the supplier
    pickup_code: str | None = None
    version: int
    created_at: datetime
    updated_at: datetime
    accepted_at: datetime | None
    shipped_at: datetime | None
    finished_at: datetime | None


class FulfilmentOrderPage(Page[FulfilmentOrderOut]):
    """A page of fulfilment orders."""


class Rejection(Strict):
    reason: Reason


class PickupVerification(Strict):
    code: PickupCode


class Scorecard(msgspec.Struct, kw_only=True):
    supplier_id: str
    #: fulfilment orders routed to the supplier
    received: int
    accepted: int
    rejected: int
    #: finished after acceptance: delivered, picked up, cancelled or returned
    finished: int
    #: accepted, on time, complete and not cancelled
    perfect: int
    #: perfect / finished, null before the first finished order
    perfect_order_rate: float | None
    #: mean seconds from routing to acceptance, null before the first acceptance
    mean_acceptance_seconds: float | None
    #: what routing uses to break ties: the rate with a prior of 9 perfect in 10
    routing_reliability: float
