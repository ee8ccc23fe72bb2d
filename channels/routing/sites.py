"""A supplier location as routing sees it: where it is, what it reaches, how fast it serves.

The spatial index holds hundreds of thousands of these per tenant, so a site is a small
frozen struct; its opening hours are shared between sites with the same timetable.
"""

from __future__ import annotations

import msgspec

#: location kinds routing knows, with the promise tier each serves at best (DESIGN §6)
KIND_TIERS: dict[str, str] = {
    "store": "near",
    "kitchen": "near",
    "pickup_point": "near",
    "forward_warehouse": "mid",
    "central_warehouse": "far",
}


class Site(msgspec.Struct, frozen=True, gc=False):
    id: str
    supplier_id: str
    kind: str
    lat: float
    lng: float
    service_radius_km: float
    #: "delivery" and/or "pickup"
    modes: tuple[str, ...]
    prep_minutes: int
    #: {"mon": [["08:00", "20:00"]], ...}; empty means always open
    opening_hours: dict[str, list[list[str]]]
    timezone: str
    daily_capacity: int | None = None
