"""Demo data for the locations area (called by gateway.demo in order: catalogue, locations, offers, inventory).

The demo city is Hangzhou (centre near 30.27 N, 120.15 E, around West Lake): each demo
supplier gets two stores and a forward warehouse in different districts; the first also runs
the central warehouse out by the ring road, the second a pickup point at the east railway
station, the third (the bakery, when there is one) a kitchen.
"""

from __future__ import annotations

from typing import Any

from gateway.tenancy.principal import Principal
from suppliers.locations import services
from suppliers.locations.schemas import Address, LocationCreate, OpeningHours

CITY = {"city": "Hangzhou", "region": "Zhejiang", "country": "CN"}
TIMEZONE = "Asia/Shanghai"

#: (name suffix, kind, lat, lng, street, postal code); one list per supplier
SITES: list[list[tuple[str, str, float, float, str, str]]] = [
    [
        ("Wulin Square store", "store", 30.2741, 120.1635, "1 Wulin Square", "310006"),
        ("Hubin store", "store", 30.2590, 120.1650, "88 Hubin Road", "310002"),
        ("Xixi forward warehouse", "forward_warehouse", 30.2700, 120.0700, "200 Wenyi West Road", "310012"),
    ],
    [
        ("Qianjiang New Town store", "store", 30.2450, 120.2100, "9 Fuchun Road", "310016"),
        ("Gongshu store", "store", 30.3190, 120.1420, "66 Mohe Road", "310011"),
        ("Binjiang forward warehouse", "forward_warehouse", 30.2080, 120.2110, "500 Jianghong Road", "310052"),
    ],
    [
        ("Qinghefang store", "store", 30.2425, 120.1680, "120 Hefang Street", "310002"),
        ("Huanglong store", "store", 30.2700, 120.1300, "3 Huanglong Road", "310007"),
        ("Jiubao forward warehouse", "forward_warehouse", 30.3260, 120.2480, "18 Jiuhuan Road", "310019"),
    ],
]
#: per kind: radius km, modes, prep minutes, daily capacity
PROFILE: dict[str, tuple[float, list[str], int, int | None]] = {
    "store": (5.0, ["delivery", "pickup"], 15, 400),
    "forward_warehouse": (15.0, ["delivery"], 45, 2000),
    "central_warehouse": (120.0, ["delivery"], 240, None),
    "kitchen": (6.0, ["delivery", "pickup"], 30, 300),
    "pickup_point": (0.0, ["pickup"], 10, 500),
}
STORE_HOURS = OpeningHours(
    **{day: [["08:00", "22:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
    sat=[["09:00", "23:00"]],
    sun=[["09:00", "21:00"]],
)
ALL_DAY: OpeningHours | None = None  # warehouses work round the clock


def _extra_sites(index: int) -> list[tuple[str, str, float, float, str, str]]:
    if index == 0:
        return [("Yuhang central warehouse", "central_warehouse", 30.4180, 120.3010, "1 Logistics Avenue", "311100")]
    if index == 1:
        return [("East Station pickup point", "pickup_point", 30.2910, 120.2130, "1 Tiancheng Road", "310020")]
    if index == 2:
        return [("Xiaoshan kitchen", "kitchen", 30.1620, 120.2640, "77 Shixin Road", "311200")]
    return []


async def seed(operator: Principal, world: dict[str, Any]) -> None:
    """Add this area's demo objects; `world` holds what earlier areas made and receives ours."""
    made: list[dict[str, Any]] = world.setdefault("locations", [])
    for index, supplier in enumerate(world.get("suppliers", [])):
        for suffix, kind, lat, lng, street, postal in SITES[index % len(SITES)] + _extra_sites(index):
            radius, modes, prep, capacity = PROFILE[kind]
            hours = STORE_HOURS if kind in ("store", "kitchen", "pickup_point") else ALL_DAY
            location = await services.create(
                operator,
                LocationCreate(
                    supplier_id=supplier["id"],
                    name=f"{supplier['name']} – {suffix}",
                    kind=kind,  # type: ignore[arg-type]
                    lat=lat,
                    lng=lng,
                    service_radius_km=radius,
                    modes=modes,  # type: ignore[arg-type]
                    prep_minutes=prep,
                    address=Address(line1=street, postal_code=postal, **CITY),
                    opening_hours=hours,
                    timezone=TIMEZONE,
                    daily_capacity=capacity,
                ),
            )
            made.append({"id": location.id, "supplier_id": location.supplier_id, "kind": location.kind})
