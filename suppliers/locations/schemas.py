"""Request and response shapes of locations: every rule a client can check is in the types,
so it is both enforced and published (DESIGN §3, §12)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from gateway.http.fields import TEXT_PATTERN, Name, Strict, Version
from gateway.http.pagination import Page
from gateway.ids import pattern

LocationKind = Literal["store", "forward_warehouse", "central_warehouse", "kitchen", "pickup_point"]
LocationStatus = Literal["active", "inactive"]
Mode = Literal["delivery", "pickup"]

#: Litestar drops a constraint whose value is 0 from a `T | UnsetType` field (it tests the value's
#: truth); `schema_extra` publishes it whatever the value
ZERO_MINIMUM = {"extra": {"minimum": 0}}

SupplierId = Annotated[str, msgspec.Meta(pattern=pattern("sup"))]
Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90, description="WGS84 latitude in degrees.")]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180, description="WGS84 longitude in degrees.")]
RadiusKm = Annotated[
    float,
    msgspec.Meta(
        ge=0,
        le=1000,
        extra_json_schema=ZERO_MINIMUM,
        description="How far from the location it delivers, great-circle km (0–1000).",
    ),
]
PrepMinutes = Annotated[
    int,
    msgspec.Meta(
        ge=0,
        le=10080,
        extra_json_schema=ZERO_MINIMUM,
        description="Minutes to prepare an order before it leaves (0–10080, a week).",
    ),
]
DailyCapacity = Annotated[
    int, msgspec.Meta(ge=1, le=10**9, description="Orders it can take per local day; null means unlimited.")
]
#: `uniqueItems` is published through Litestar's `schema_extra` and checked by the service
Modes = Annotated[
    list[Mode],
    msgspec.Meta(
        min_length=1,
        max_length=2,
        extra_json_schema={"extra": {"unique_items": True}},
        description="How consumers are served from here: `delivery`, `pickup` or both; no repeats.",
    ),
]
Timezone = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$",
        description="IANA time-zone name of the opening hours, e.g. `Asia/Shanghai`; an unknown one is a 404.",
    ),
]
ClockTime = Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="`HH:MM`, 24-hour.")]
#: `[open, close]`; a close at or before the open runs past midnight into the next day
Interval = Annotated[
    list[ClockTime],
    msgspec.Meta(
        min_length=2,
        max_length=2,
        description=(
            "`[open, close]` in local time. A close at or before the open runs past midnight "
            '(`["22:00", "02:00"]`); `["00:00", "00:00"]` is the whole day.'
        ),
    ),
]
DayHours = Annotated[list[Interval], msgspec.Meta(max_length=6, description="Up to 6 intervals; none: closed.")]
CountryCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2, e.g. CN")]
AddressLine = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=TEXT_PATTERN)]
PostalCode = Annotated[str, msgspec.Meta(min_length=1, max_length=20, pattern=TEXT_PATTERN)]


class Address(Strict, kw_only=True):
    line1: AddressLine
    line2: AddressLine | None = None
    city: AddressLine
    region: AddressLine | None = None
    postal_code: PostalCode | None = None
    country: CountryCode


class OpeningHours(Strict, kw_only=True):
    """Weekly hours in the location's `timezone`. With no interval on any day the location is
    always open; otherwise a day without intervals is closed."""

    mon: DayHours = []
    tue: DayHours = []
    wed: DayHours = []
    thu: DayHours = []
    fri: DayHours = []
    sat: DayHours = []
    sun: DayHours = []


class LocationCreate(Strict, kw_only=True):
    name: Name
    kind: LocationKind
    lat: Latitude
    lng: Longitude
    service_radius_km: RadiusKm
    modes: Modes
    prep_minutes: PrepMinutes
    address: Address | None = None
    opening_hours: OpeningHours | None = None
    timezone: Timezone = "UTC"
    daily_capacity: DailyCapacity | None = None
    #: the owner: a supplier leaves it out (or names itself); the operator must name one
    supplier_id: SupplierId | None = None


class LocationUpdate(Strict, kw_only=True):
    version: Version
    name: Name | msgspec.UnsetType = msgspec.UNSET
    kind: LocationKind | msgspec.UnsetType = msgspec.UNSET
    lat: Latitude | msgspec.UnsetType = msgspec.UNSET
    lng: Longitude | msgspec.UnsetType = msgspec.UNSET
    service_radius_km: RadiusKm | msgspec.UnsetType = msgspec.UNSET
    modes: Modes | msgspec.UnsetType = msgspec.UNSET
    prep_minutes: PrepMinutes | msgspec.UnsetType = msgspec.UNSET
    address: Address | msgspec.UnsetType | None = msgspec.UNSET
    opening_hours: OpeningHours | msgspec.UnsetType | None = msgspec.UNSET
    timezone: Timezone | msgspec.UnsetType = msgspec.UNSET
    daily_capacity: DailyCapacity | msgspec.UnsetType | None = msgspec.UNSET


class LocationOut(msgspec.Struct, kw_only=True):
    id: str
    supplier_id: str
    name: str
    kind: LocationKind
    lat: float
    lng: float
    address: Address | None
    service_radius_km: float
    modes: list[Mode]
    prep_minutes: int
    opening_hours: OpeningHours
    timezone: str
    daily_capacity: int | None
    status: LocationStatus
    version: int
    created_at: datetime
    updated_at: datetime


class LocationPage(Page[LocationOut]):
    """A page of locations."""
