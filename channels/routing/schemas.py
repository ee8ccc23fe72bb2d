"""A tenant's routing policy as the operator reads and writes it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from gateway.http.fields import Strict, Version
from gateway.ids import pattern
from gateway.money import Amount

RuleName = Literal[
    "fewest_shipments", "fastest_promise", "earliest_eta", "nearest", "reliability", "ranked_locations", "lowest_cost"
]
LocationId = Annotated[str, msgspec.Meta(pattern=pattern("loc"))]


class DeliveryFees(Strict, kw_only=True):
    """Charged per delivery shipment, by its promise tier, in the order's currency (minor units)."""

    near: Amount = 0
    mid: Amount = 0
    far: Amount = 0


class PolicyIn(Strict, kw_only=True):
    #: rule names, most important first; the location id always breaks the last tie
    rules: Annotated[list[RuleName], msgspec.Meta(min_length=1, max_length=7)] = msgspec.field(
        default_factory=lambda: ["fewest_shipments", "fastest_promise", "nearest", "reliability"]
    )
    #: for the `ranked_locations` rule: the tenant's preferred locations, best first
    ranked_location_ids: Annotated[list[LocationId], msgspec.Meta(max_length=1000)] = msgspec.field(
        default_factory=list
    )
    acceptance_deadline_minutes: Annotated[int, msgspec.Meta(ge=1, le=10080)] = 15
    #: the platform's fee in basis points of the retail amount (500 = 5%)
    take_rate_bps: Annotated[int, msgspec.Meta(ge=0, le=5000)] = 500
    quote_ttl_seconds: Annotated[int, msgspec.Meta(ge=30, le=86400)] = 600
    #: may one line's units come from several locations when none holds them all
    split_quantities: bool = True
    delivery_fees: DeliveryFees = msgspec.field(default_factory=DeliveryFees)
    #: the version read; leave it out to overwrite whatever is there
    version: Version | None = None


class PolicyOut(msgspec.Struct, kw_only=True):
    rules: list[str]
    ranked_location_ids: list[str]
    acceptance_deadline_minutes: int
    take_rate_bps: int
    quote_ttl_seconds: int
    split_quantities: bool
    delivery_fees: DeliveryFees
    #: 0 while the tenant runs on the defaults
    version: int
    updated_at: datetime | None
