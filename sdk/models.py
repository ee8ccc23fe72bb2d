"""The gateway's resources as msgspec structs, written for the SDK (it imports nothing of the
server, so it installs and runs on its own).

Responses ignore fields they do not know, so a newer gateway that adds fields does not break
an older SDK. Requests leave out what was not given (`omit_defaults`), so the server's
defaults apply.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

import msgspec

T = TypeVar("T")


class Model(msgspec.Struct, kw_only=True):
    """Base of every response struct."""


class Body(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Base of every request body."""


class Money(msgspec.Struct, kw_only=True):
    """Integer minor units and an ISO 4217 currency: `Money(amount=1299, currency="CNY")`."""

    amount: int
    currency: str


class Page(Model, Generic[T]):
    """One page of a list: `data`, whether more follow and the cursor of the next page."""

    data: list[T]
    has_more: bool
    next_cursor: str | None = None


# -- suppliers and locations ---------------------------------------------------------------------


class Supplier(Model):
    id: str
    name: str
    status: str
    version: int
    created_at: datetime | None = None
    updated_at: datetime | None = None


class Address(Body):
    line1: str
    city: str
    country: str
    line2: str | None = None
    postal_code: str | None = None
    region: str | None = None


class Location(Model):
    id: str
    supplier_id: str
    name: str
    kind: str
    lat: float
    lng: float
    service_radius_km: float
    modes: list[str]
    prep_minutes: int
    status: str
    version: int
    timezone: str | None = None
    daily_capacity: int | None = None
    address: dict[str, Any] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


# -- offers and listings -------------------------------------------------------------------------


class Offer(Model):
    id: str
    supplier_id: str
    sku: str
    wholesale_price: Money
    active: bool
    version: int
    min_retail_price: Money | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class Listing(Model):
    id: str
    channel_id: str
    sku: str
    price: Money
    active: bool
    version: int
    created_at: datetime | None = None
    updated_at: datetime | None = None


# -- inventory -----------------------------------------------------------------------------------


class Level(Model):
    """Stock of one SKU at one location; `available = on_hand - reserved - committed - safety_stock`."""

    location_id: str
    sku: str
    on_hand: int
    reserved: int
    committed: int
    safety_stock: int
    available: int
    id: str | None = None
    last_sequence: int | None = None
    updated_at: datetime | None = None


class Movement(Model):
    id: str
    location_id: str
    sku: str
    delta_on_hand: int
    delta_reserved: int
    delta_committed: int
    reason: str
    actor: str
    at: datetime
    reference: str | None = None


class SetItem(Body):
    """An absolute count. `sequence` increases per (location, sku) on the supplier's side."""

    location_id: str
    sku: str
    on_hand: int
    sequence: int
    safety_stock: int | None = None


class AdjustItem(Body):
    """A delta with a reason (`received`, `correction`, `damaged`, `returned`)."""

    location_id: str
    sku: str
    delta: int
    reason: str
    reference: str | None = None


class ItemError(Model):
    code: str
    message: str


class ItemResult(Model):
    """The outcome of one item of a batch: `applied`, `unchanged` (already so) or `refused`."""

    index: int
    location_id: str
    sku: str
    status: Literal["applied", "unchanged", "refused"]
    level: Level | None = None
    error: ItemError | None = None


class BatchResult(Model):
    applied: int
    refused: int
    results: list[ItemResult]
    #: absent from gateways older than the `unchanged` status (counted as applied there)
    unchanged: int = 0


class _SetBody(Body):
    items: list[SetItem]


class _AdjustBody(Body):
    items: list[AdjustItem]


# -- quotes and orders ---------------------------------------------------------------------------


class Line(Body):
    """A line to price or order: `Line(sku="SKU-1", qty=2)`."""

    sku: str
    qty: int


class Destination(Body):
    lat: float
    lng: float


class Customer(Body):
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    note: str | None = None


class PricedLine(Model):
    sku: str
    qty: int
    unit_price: Money | None = None
    amount: Money | None = None


class Shipment(Model):
    location_id: str
    supplier_id: str
    lines: list[PricedLine]
    eta_minutes: int
    distance_km: float
    tier: str | None = None
    fee: Money | None = None
    promised_at: datetime | None = None


class Quote(Model):
    id: str
    status: str
    expires_at: datetime
    total: Money
    shipments: list[Shipment]
    lines: list[PricedLine] = []
    subtotal: Money | None = None
    delivery_fee: Money | None = None
    channel_id: str | None = None
    mode: str | None = None
    order_id: str | None = None


class FulfilmentLine(Model):
    sku: str
    qty: int
    unit_price: Money | None = None
    wholesale_price: Money | None = None


class FulfilmentOrder(Model):
    id: str
    order_id: str
    location_id: str
    supplier_id: str
    status: str
    lines: list[FulfilmentLine]
    version: int
    mode: str | None = None
    tier: str | None = None
    eta_minutes: int | None = None
    distance_km: float | None = None
    routing: dict[str, Any] | None = None
    reason: str | None = None
    replaced_by: str | None = None
    pickup_code: str | None = None
    promised_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class Order(Model):
    id: str
    status: str
    total: Money
    fulfilment_orders: list[FulfilmentOrder]
    lines: list[PricedLine] = []
    channel_id: str | None = None
    mode: str | None = None
    reference: str | None = None
    quote_id: str | None = None
    subtotal: Money | None = None
    delivery_fee: Money | None = None
    version: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class _QuoteBody(Body):
    lines: list[Line]
    destination: Destination | None = None
    mode: str | None = None
    pickup_point_id: str | None = None
    channel_id: str | None = None


class _OrderBody(Body):
    quote_id: str | None = None
    lines: list[Line] | None = None
    destination: Destination | None = None
    mode: str | None = None
    pickup_point_id: str | None = None
    channel_id: str | None = None
    customer: Customer | None = None
    reference: str | None = None
    cart_id: str | None = None
    client_secret: str | None = None


# -- events and webhooks -------------------------------------------------------------------------


class Event(Model):
    """An event as the feed shows it and as webhooks deliver it."""

    id: str
    type: str
    created_at: datetime
    data: dict[str, Any]


class WebhookEndpoint(Model):
    id: str
    url: str
    events: list[str]
    status: str
    version: int
    description: str = ""
    #: only in the responses of create and rotate-secret: shown once
    secret: str | None = None
    disabled_reason: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class PingResult(Model):
    """What the endpoint answered to a signed `webhook_endpoint.ping`."""

    succeeded: bool
    status_code: int | None = None
    latency_ms: float | None = None
    response_excerpt: str | None = None
    error: str | None = None


class Delivery(Model):
    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    status: str
    attempts: int
    last_status_code: int | None = None
    last_error: str | None = None
    created_at: datetime | None = None


# -- OAuth ---------------------------------------------------------------------------------------


class Token(Model):
    access_token: str
    token_type: str
    expires_in: int = 3600
    scope: str | None = None
