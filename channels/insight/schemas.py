"""Shapes of insight: perfect order rates, coverage maps, replenishment advice."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from gateway.http.pagination import Page

Rate = Annotated[float, msgspec.Meta(ge=0, le=1)]


class PartOut(msgspec.Struct, kw_only=True):
    #: decided fulfilment orders where this part held
    count: int
    #: count / decided; null before anything was decided
    rate: Rate | None


class PerfectParts(msgspec.Struct, kw_only=True):
    accepted_in_time: PartOut
    on_time: PartOut
    complete: PartOut
    not_cancelled_or_returned: PartOut


class PerfectDayOut(msgspec.Struct, kw_only=True):
    #: the UTC day the fulfilment orders were routed
    date: date
    decided: int
    perfect: int
    rate: Rate | None


class PerfectOrderOut(msgspec.Struct, kw_only=True):
    """A supplier's (or one of its locations') perfect order rate over a period."""

    supplier_id: str
    #: with group_by=location
    location_id: str | None = None
    #: fulfilment orders routed in the period whose outcome is known
    decided: int
    #: still on their way: not counted yet
    open: int
    perfect: int
    #: perfect / decided; null before anything was decided
    rate: Rate | None
    parts: PerfectParts
    #: the trend: each day of the period with a decided fulfilment order
    days: list[PerfectDayOut]


class PerfectOrderPage(Page[PerfectOrderOut]):
    """Perfect order rates, by supplier or location id."""


Bucket = Literal["30m", "4h", "next_day"]


class Polygon(msgspec.Struct, kw_only=True):
    type: Literal["Polygon"] = "Polygon"
    #: one ring of [lng, lat] positions, closed (RFC 7946)
    coordinates: list[list[list[float]]]


class CellProperties(msgspec.Struct, kw_only=True):
    #: the H3 cell index
    h3: str
    #: the fastest promise for the basket at the cell's centre: within 30 minutes, 4 hours, or later
    bucket: Bucket
    #: near, mid or far (DESIGN §6), as routing promises it
    tier: str
    #: minutes until the slowest shipment of the plan arrives
    eta_minutes: int
    #: how many shipments the plan needs, and from where
    shipments: int
    location_ids: list[str]
    #: the colour the picture gives the cell
    fill: str


class CellFeature(msgspec.Struct, kw_only=True):
    type: Literal["Feature"] = "Feature"
    geometry: Polygon
    properties: CellProperties


class CoverageBasketLine(msgspec.Struct, kw_only=True):
    sku: str
    qty: int


class CoverageMap(msgspec.Struct, kw_only=True):
    """A GeoJSON FeatureCollection (RFC 7946) of the cells where the basket can be promised now,
    with what was evaluated as foreign members."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[CellFeature]
    basket: list[CoverageBasketLine]
    resolution: int
    #: [west, south, east, north] of the evaluated area
    bbox: list[float]
    #: cells evaluated, and how many fall in each bucket
    cells_evaluated: int
    counts: dict[str, int]
    generated_at: datetime


class DemandCellOut(msgspec.Struct, kw_only=True):
    """What was wanted of one SKU in one H3 cell over the period, and the stock serving it."""

    h3: str
    lat: float
    lng: float
    sku: str
    #: units ordered, and of those the units only a next-day (far) location could promise
    ordered_units: int
    far_units: int
    #: units asked for but refused for lack of stock
    refused_units: int
    #: units available now at the stores and forward warehouses whose radius reaches the cell
    local_available: int


class TransferBody(msgspec.Struct, kw_only=True):
    """The body to POST to /v1/inventory/transfers as it is."""

    from_location_id: str
    to_location_id: str
    sku: str
    qty: int
    reference: str


class SuggestionOut(msgspec.Struct, kw_only=True):
    sku: str
    supplier_id: str
    #: the central warehouse the units come from, and the location they go to
    from_location_id: str
    to_location_id: str
    qty: int
    #: the demand it answers: units refused and units promised only next day, in these cells
    refused_units: int
    far_units: int
    cells: list[str]
    #: what the receiving location promises at those cells once stocked
    tier: str
    transfer: TransferBody


class ReplenishmentOut(msgspec.Struct, kw_only=True):
    from_: date = msgspec.field(name="from")
    to: date
    resolution: int
    demand: list[DemandCellOut]
    suggestions: list[SuggestionOut]
