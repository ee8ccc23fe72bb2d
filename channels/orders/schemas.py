"""Quotes and orders as channels send and read them (DESIGN §7, §12)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from gateway.http.fields import Label, Sku, Strict
from gateway.http.pagination import Page
from gateway.ids import pattern
from gateway.money import Money
from suppliers.fulfilment.schemas import FulfilmentOrderOut

Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90, description="WGS84 latitude in degrees.")]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180, description="WGS84 longitude in degrees.")]
LocationId = Annotated[str, msgspec.Meta(pattern=pattern("loc"))]
QuoteId = Annotated[str, msgspec.Meta(pattern=pattern("quo"))]
CartId = Annotated[str, msgspec.Meta(pattern=pattern("crt"))]
#: the secret a storefront cart was created with (`channels.storefront`), handed to the
#: channel's server by the widget's `gateway:checkout` event
ClientSecret = Annotated[str, msgspec.Meta(pattern=r"^cs_[0-9A-Za-z]{32}$")]
ChannelId = Annotated[str, msgspec.Meta(pattern=pattern("chn"))]
Quantity = Annotated[int, msgspec.Meta(ge=1, le=100_000)]
Mode = Literal["delivery", "pickup"]
CustomerText = Annotated[str, msgspec.Meta(max_length=500, pattern=r"^[^\x00-\x1f\x7f]*$")]


class LineIn(Strict):
    sku: Sku
    qty: Quantity


class Destination(Strict):
    lat: Latitude
    lng: Longitude


Lines = Annotated[list[LineIn], msgspec.Meta(min_length=1, max_length=100)]


class QuoteCreate(Strict, kw_only=True):
    lines: Lines
    #: where to deliver; for a pickup at a pickup point, leave it out
    destination: Destination | None = None
    #: default: `pickup` when a pickup_point_id is given, else `delivery`
    mode: Mode | None = None
    #: a pickup point (a location of kind pickup_point) where the consumer collects the order
    pickup_point_id: LocationId | None = None
    #: the operator places orders for a channel; a channel leaves it out
    channel_id: ChannelId | None = None


class Customer(Strict, kw_only=True):
    """The consumer: encrypted at rest, shown to the fulfilling supplier while the order is open."""

    name: CustomerText | None = None
    phone: CustomerText | None = None
    email: CustomerText | None = None
    address: CustomerText | None = None
    note: CustomerText | None = None


class OrderCreate(Strict, kw_only=True):
    """Either `quote_id` (the quote's stock is already held), or a storefront cart (`cart_id`
    with its `client_secret`: the cart's stock is already held), or `lines` and a destination."""

    quote_id: QuoteId | None = None
    cart_id: CartId | None = None
    client_secret: ClientSecret | None = None
    lines: Lines | None = None
    destination: Destination | None = None
    #: default: `pickup` when a pickup_point_id is given, else `delivery`
    mode: Mode | None = None
    pickup_point_id: LocationId | None = None
    customer: Customer | None = None
    #: the channel's own order number
    reference: Label | None = None
    channel_id: ChannelId | None = None


class LineOut(msgspec.Struct, kw_only=True):
    sku: str
    qty: int
    unit_price: Money
    amount: Money


class ShipmentOut(msgspec.Struct, kw_only=True):
    location_id: str
    supplier_id: str
    lines: list[LineIn]
    tier: str
    eta_minutes: int
    distance_km: float
    promised_at: datetime
    fee: Money


class DestinationOut(msgspec.Struct, kw_only=True):
    lat: float
    lng: float


class QuoteOut(msgspec.Struct, kw_only=True):
    id: str
    channel_id: str
    #: open, ordered, expired, released
    status: str
    mode: str
    destination: DestinationOut
    pickup_point_id: str | None
    lines: list[LineOut]
    subtotal: Money
    delivery_fee: Money
    total: Money
    shipments: list[ShipmentOut]
    expires_at: datetime
    order_id: str | None
    created_at: datetime


class QuotePage(Page[QuoteOut]):
    """A page of quotes."""


class Split(msgspec.Struct, kw_only=True):
    """Where the money goes: subtotal + delivery fees = suppliers + channel + platform."""

    supplier_amount: Money
    channel_margin: Money
    platform_fee: Money


OrderStatus = Literal["pending", "accepted", "shipped", "completed", "cancelled", "returned", "failed"]


class OrderOut(msgspec.Struct, kw_only=True):
    id: str
    channel_id: str
    quote_id: str | None
    #: derived from its fulfilment orders
    status: OrderStatus
    mode: str
    destination: DestinationOut
    pickup_point_id: str | None
    lines: list[LineOut]
    subtotal: Money
    delivery_fee: Money
    total: Money
    split: Split
    customer: Customer | None
    customer_erased: bool
    reference: str | None
    fulfilment_orders: list[FulfilmentOrderOut]
    version: int
    created_at: datetime
    updated_at: datetime


class OrderPage(Page[OrderOut]):
    """A page of orders."""
