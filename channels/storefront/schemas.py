"""What the storefront sends and answers (DESIGN §12-13). Names are unique across the
contract (client generators drop models whose names collide)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from channels.orders.schemas import (
    ChannelId,
    ClientSecret,
    Destination,
    DestinationOut,
    LineIn,
    LineOut,
    LocationId,
    Mode,
)
from gateway.http.fields import Strict
from gateway.http.pagination import Page
from gateway.money import Money

Tier = Literal["near", "mid", "far"]
CartLines = Annotated[
    list[LineIn],
    msgspec.Meta(
        min_length=1,
        max_length=100,
        description="What the shopper wants. The gateway caps lines and units per cart "
        "(GATEWAY_STOREFRONT_MAX_CART_LINES / _UNITS): beyond them, 409 `cart-too-large`.",
    ),
]


class StorefrontProduct(msgspec.Struct, kw_only=True):
    """A product the channel lists, as a shopper sees it. With a point (`lat`/`lng` or a
    pickup point) only products that can reach it are listed, with the promise of the
    location one unit would ship from now; without one, the promise fields are null."""

    #: the channel's listing
    id: str
    channel_id: str
    sku: str
    product_id: str
    title: str
    variant_title: str
    #: the first of the product's media URLs
    image: str | None
    price: Money
    #: null when no point was given; false when sellers reach the point but have none now
    in_stock: bool | None
    #: near (a store: minutes), mid (a forward warehouse: hours), far (next day or later)
    tier: Tier | None
    #: minutes from now until it is at the door (delivery) or ready for pickup
    eta_minutes: int | None
    promised_at: datetime | None


class StorefrontProductDetail(StorefrontProduct, kw_only=True):
    description: str
    media: list[str]
    options: dict[str, Any]
    attributes: dict[str, Any]


class StorefrontProductPage(Page[StorefrontProduct]):
    """A page of storefront products, in listing order."""


class PickupPoint(msgspec.Struct, kw_only=True):
    """A location where the shopper can collect an order."""

    id: str
    name: str
    kind: str
    lat: float
    lng: float
    distance_km: float
    address: dict[str, Any]
    opening_hours: dict[str, Any]
    timezone: str


class PickupPointPage(Page[PickupPoint]):
    """Pickup points nearest first (at most `limit`; no further pages: `next_cursor` is null)."""


class CartCreate(Strict, kw_only=True):
    lines: CartLines
    #: where to deliver; leave it out for a pickup at `pickup_point_id`
    destination: Destination | None = None
    #: default: `pickup` when a pickup_point_id is given, else `delivery`
    mode: Mode | None = None
    pickup_point_id: LocationId | None = None
    #: the operator makes a cart for a channel; a channel's key leaves it out
    channel_id: ChannelId | None = None


class CartSecret(Strict, kw_only=True):
    """Proves the caller holds the cart (a publishable key must send it; a secret key may not)."""

    client_secret: ClientSecret | None = None


class CartShipment(msgspec.Struct, kw_only=True):
    """One parcel of the cart: what leaves one location, and when it arrives."""

    lines: list[LineIn]
    tier: str
    eta_minutes: int
    promised_at: datetime
    distance_km: float
    fee: Money


CartStatus = Literal["open", "ordered", "expired", "released"]


class Cart(msgspec.Struct, kw_only=True):
    id: str
    channel_id: str
    #: open (holding its stock), ordered, expired (stock released), released
    status: CartStatus
    mode: str
    destination: DestinationOut
    pickup_point_id: str | None
    lines: list[LineOut]
    subtotal: Money
    delivery_fee: Money
    total: Money
    shipments: list[CartShipment]
    #: until then the stock is held; then it is released and the cart cannot be ordered
    expires_at: datetime
    order_id: str | None
    created_at: datetime


class CartCreated(Cart, kw_only=True):
    #: give it to the channel's server with the cart id (`gateway:checkout`); shown this once
    client_secret: str


class CartPage(Page[Cart]):
    """A page of carts."""
