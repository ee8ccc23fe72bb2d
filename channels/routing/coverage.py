"""Where a SKU (or a basket) can be promised now, cell by cell (DESIGN §15). Pure.

The area is cut into H3 cells; at each cell's centre the very decision an order there would
get is made: the sites whose radius reaches the centre (`index.LocationIndex.covering`), kept
for the mode (`facts.serves`), turned into candidates with their stock and promise
(`facts.assemble`), planned (`core.plan`). The cell gets the plan's slowest shipment: within
30 minutes, 4 hours, or later (next day). No second routing: the same functions, fed with the
facts read once for the whole area instead of once per order.

H3 (Uber's hexagonal grid) gives cells of equal area at every latitude and a stable cell id
that other tools (kepler.gl, deck.gl, BigQuery) understand; the picture and the GeoJSON are
drawn from its cell boundaries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from math import cos, radians

import h3
import msgspec

from channels.routing import core
from channels.routing.facts import Facts, assemble, serves
from channels.routing.geo import KM_PER_DEGREE
from channels.routing.index import LocationIndex
from channels.routing.promise import TIERS, StartMemo
from channels.routing.sites import Site

#: minutes a bucket reaches up to; beyond the last, "next_day"
BUCKETS: tuple[tuple[str, int], ...] = (("30m", 30), ("4h", 240))
#: the resolutions a map may use: 5 (~250 km² cells) to 10 (~0.015 km²)
RESOLUTIONS = range(5, 11)
#: the most cells one map evaluates
MAX_CELLS = 20_000


class Cell(msgspec.Struct, frozen=True):
    h3: str
    lat: float
    lng: float


class CellPromise(msgspec.Struct, frozen=True):
    bucket: str
    tier: str
    eta_minutes: int
    location_ids: tuple[str, ...]


def bucket_of(eta_minutes: int) -> str:
    for name, limit in BUCKETS:
        if eta_minutes <= limit:
            return name
    return "next_day"


def promise_of(plan: core.Plan) -> CellPromise | None:
    """What a plan promises as a whole: its slowest shipment; None when it leaves anything unfilled."""
    if plan.unfilled or not plan.shares:
        return None
    eta = max(share.candidate.promise.eta_minutes for share in plan.shares)
    tier = max((share.candidate.promise.tier for share in plan.shares), key=TIERS.index)
    return CellPromise(
        bucket=bucket_of(eta),
        tier=tier,
        eta_minutes=eta,
        location_ids=tuple(share.candidate.site.id for share in plan.shares),
    )


# -- the area ------------------------------------------------------------------------------

BBox = tuple[float, float, float, float]  # south, west, north, east


def reach_of(sites: Iterable[Site]) -> BBox | None:
    """The box holding every site's service disc (None without sites)."""
    south = west = 90.0 * 4
    north = east = -90.0 * 4
    found = False
    for site in sites:
        found = True
        dlat = site.service_radius_km / KM_PER_DEGREE
        dlng = site.service_radius_km / (KM_PER_DEGREE * max(cos(radians(site.lat)), 0.01))
        south, north = min(south, site.lat - dlat), max(north, site.lat + dlat)
        west, east = min(west, site.lng - dlng), max(east, site.lng + dlng)
    if not found:
        return None
    return max(south, -89.9), max(west, -179.9), min(north, 89.9), min(east, 179.9)


def touching(sites: Iterable[Site], box: BBox) -> list[Site]:
    """The sites whose service disc may reach into the box (a box around the disc overlaps it)."""
    south, west, north, east = box
    found = []
    for site in sites:
        dlat = site.service_radius_km / KM_PER_DEGREE
        dlng = site.service_radius_km / (KM_PER_DEGREE * max(cos(radians(site.lat)), 0.01))
        if (
            site.lat - dlat <= north
            and site.lat + dlat >= south
            and site.lng - dlng <= east
            and site.lng + dlng >= west
        ):
            found.append(site)
    return found


def local_sites(sites: Iterable[Site]) -> list[Site]:
    """The sites that make a tenant's area: every kind but central warehouses, whose next-day
    reach spans regions (all of them when the tenant has nothing else)."""
    every = list(sites)
    local = [site for site in every if site.kind != "central_warehouse"]
    return local or every


def estimated_cells(box: BBox, resolution: int) -> int:
    south, west, north, east = box
    km_ns = (north - south) * KM_PER_DEGREE
    km_ew = (east - west) * KM_PER_DEGREE * cos(radians((north + south) / 2))
    return int(km_ns * km_ew / h3.average_hexagon_area(resolution, unit="km^2")) + 1


def auto_resolution(box: BBox, max_cells: int = 8_000) -> int:
    """The finest resolution whose cells over `box` stay under `max_cells` (8 for a city)."""
    for resolution in sorted(RESOLUTIONS, reverse=True):
        if resolution <= 8 and estimated_cells(box, resolution) <= max_cells:
            return resolution
    return RESOLUTIONS[0]


def cells_in(box: BBox, resolution: int) -> list[Cell]:
    """The H3 cells whose centres lie in the box, in cell-id order, with their centres."""
    south, west, north, east = box
    outline = h3.LatLngPoly([(south, west), (south, east), (north, east), (north, west)])
    cells = []
    for ident in sorted(h3.polygon_to_cells(outline, resolution)):
        lat, lng = h3.cell_to_latlng(ident)
        cells.append(Cell(h3=ident, lat=lat, lng=lng))
    return cells


def boundary(cell: str) -> list[list[float]]:
    """The cell's outline as a closed GeoJSON ring of [lng, lat]."""
    ring = [[lng, lat] for lat, lng in h3.cell_to_boundary(cell)]
    return [*ring, ring[0]]


# -- the decision at every cell ---------------------------------------------------------------


def stocked_index(sites: Iterable[Site], facts: Facts) -> LocationIndex:
    """An index of the sites with stock only: the same index, over fewer sites, so each cell
    visits the few that matter rather than every store of a city."""
    index = LocationIndex()
    for site in sites:
        if site.id in facts.stock:
            index.upsert(site)
    return index


def _cuttable(rules: Sequence[tuple[str, core.Key]]) -> bool:
    """Whether the rules rank by shipments, then tier, then distance (the default does)."""
    return [name for name, _ in rules][:3] == ["fewest_shipments", "fastest_promise", "nearest"]


def _up_to_a_near_filler(
    reaching: list[tuple[Site, float]], facts: Facts, lines: Sequence[core.Line], now: datetime, memo: StartMemo
) -> list[tuple[Site, float]]:
    """The sites (nearest first) up to the nearest one that fills the whole basket with a near
    promise, and any at its very distance. With shipments, tier and distance ranked first, no
    site beyond it can win: it would need fewer shipments (impossible: one already does it),
    a faster tier (none is faster than near) or a shorter distance. So the plan over these
    sites is the plan over all of them, with far less work in a dense city."""
    need = core.merge(lines)
    for position, (site, distance) in enumerate(reaching):
        stock = facts.stock.get(site.id)
        if stock is None or any(stock.get(sku, 0) < qty for sku, qty in need.items()):
            continue
        made = assemble([(site, distance)], facts, now, "delivery", None, memo)
        if made and made[0].promise.tier == TIERS[0]:
            end = position + 1
            while end < len(reaching) and reaching[end][1] <= distance:
                end += 1
            return reaching[:end]
    return reaching


def evaluate(
    cells: Sequence[Cell],
    index: LocationIndex,
    facts: Facts,
    lines: Sequence[core.Line],
    rules: Sequence[tuple[str, core.Key]],
    now: datetime,
    *,
    mode: str = "delivery",
    split_quantities: bool = True,
) -> dict[str, CellPromise]:
    """cell id -> what an order of `lines` to the cell's centre would be promised now, for the
    cells where it can be placed at all."""
    memo: StartMemo = {}
    promised: dict[str, CellPromise] = {}
    cut = mode == "delivery" and _cuttable(rules)
    for cell in cells:
        reaching = [(site, d) for site, d in index.covering(cell.lat, cell.lng) if serves(site, mode, None)]
        if not reaching:
            continue
        if cut:
            reaching = _up_to_a_near_filler(reaching, facts, lines, now, memo)
        candidates = assemble(reaching, facts, now, mode, None, memo)
        made = promise_of(core.plan(lines, candidates, rules, split_quantities=split_quantities))
        if made is not None:
            promised[cell.h3] = made
    return promised
