"""The spatial index of one tenant's active locations: which sites reach a destination.

Pure, no I/O (`channels.routing.directory` keeps it current). A site is a candidate for a
destination when the destination lies within the site's own service radius, so the query is
"which discs contain this point", not "which points are near it", and radii range from a
couple of km (a store) to a thousand and more (a central warehouse). A single grid cannot
serve both: cells sized for the largest radius put whole cities in one cell, cells sized for
stores make a warehouse's disc span thousands of cells.

So sites are bucketed by **radius class** (<= 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500 km,
and larger), each class a grid of latitude/longitude cells about as wide as its largest
radius. A site sits in the one cell holding its own position; a query visits, in each class,
only the cells within that class's largest radius of the destination (about 3x3 of them)
and measures the sites there. Work is proportional to the sites near the destination, not
to the tenant. Each cell keeps its sites' latitude, longitude, cosine of latitude and the
haversine value of their radius in flat arrays, so a site out of reach costs two sines and a
comparison, and one in reach the exact distance of `geo.distance_km`, bit for bit.

The grid handles the sphere, not a plane:

- rows are bands of equal latitude; the number of cells in a row shrinks with the cosine of
  its latitude, so cells stay roughly square in km up to the poles instead of collapsing to
  slivers, and the few cells around a pole are visited whole when a disc reaches it;
- the longitude span a query visits widens with latitude (`geo.longitude_reach_deg`), and
  column numbers wrap around, so a destination at 179.9 finds a site at -179.9;
- radii above the last class (beyond what the API allows today) live in one flat list.

A decision rarely needs every site that reaches the destination: `covering` takes a ring
(`beyond_km` < distance <= `within_km`), so routing reads the nearest sites first and widens
only when it must (`channels.routing.services.decide`); the ring visits only the cells within
`within_km` and skips the inner sites with the same cheap bound. The index also counts its
sites per (kind, preparation minutes), their **profiles**: the fastest promise any site not
yet read can make is bounded from those few, without visiting a site.

Cell sizes and the classes matter little: at 400,000 sites the work is dominated by the
sites that do cover the destination (hundreds in a dense city), which any index must return.
Memory is the sites themselves plus ~140 bytes a site (the id map, the arrays, the cells).
Pure Python on purpose: H3 would add a compiled dependency and still need the exact
distance of every candidate. `benchmarks/routing_index.py` has the figures.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from functools import cache
from math import asin, cos, floor, radians, sin, sqrt

from channels.routing.geo import (
    DIAMETER_KM,
    EARTH_RADIUS_KM,
    HALF_CIRCUMFERENCE_KM,
    haversine_of,
    latitude_reach_deg,
    longitude_reach_deg,
)
from channels.routing.sites import Site

#: upper bounds of the radius classes, km; a radius above the last goes to the flat list
RADIUS_CLASSES_KM: tuple[float, ...] = (2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0)
#: a cell's side as a share of its class's largest radius
CELL_FACTOR = 1.0
#: a cell key is row * _STRIDE + column (an int hashes and stores cheaper than a tuple)
_STRIDE = 1 << 24
#: the cheap bound may err by a few ulps against `distance_km`: it only pre-selects, with
#: this slack, and the exact distance decides
_SLACK = 1e-9
#: how much farther than the largest radius a query looks, so that rounding in the cell
#: arithmetic can never hide a site that lies exactly on its radius
_MARGIN_KM = 1e-6


class _Cell:
    """The sites of one cell, with what the cheap bound needs precomputed per site, in order of
    latitude: a query reads only the band of latitudes its distance allows (a site farther
    north or south than that is farther away than that), not the whole cell."""

    __slots__ = ("cos_phi", "lam", "limit", "phi", "sites")

    def __init__(self) -> None:
        self.sites: list[Site] = []
        self.phi = array("d")  # latitude, radians, ascending
        self.lam = array("d")  # longitude, radians
        self.cos_phi = array("d")
        self.limit = array("d")  # the haversine value of the service radius, with slack

    def add(self, site: Site) -> None:
        phi = radians(site.lat)
        at = bisect_right(self.phi, phi)
        self.sites.insert(at, site)
        self.phi.insert(at, phi)
        self.lam.insert(at, radians(site.lng))
        self.cos_phi.insert(at, cos(phi))
        self.limit.insert(at, haversine_of(site.service_radius_km) * (1.0 + _SLACK) + _SLACK * _SLACK)

    def discard(self, location_id: str) -> None:
        """Remove a site by id."""
        sites = self.sites
        position = next((at for at, site in enumerate(sites) if site.id == location_id), None)
        if position is None:
            return
        del sites[position]
        for column in (self.phi, self.lam, self.cos_phi, self.limit):
            del column[position]

    def __len__(self) -> int:
        return len(self.sites)

    def _band(self, lat: float, km: float) -> tuple[int, int]:
        """The positions of the sites whose latitude alone does not put them beyond `km`."""
        if km >= HALF_CIRCUMFERENCE_KM:
            return 0, len(self.sites)
        reach = km / EARTH_RADIUS_KM * (1.0 + _SLACK) + _SLACK
        phi1 = radians(lat)
        return bisect_left(self.phi, phi1 - reach), bisect_right(self.phi, phi1 + reach)

    def collect(self, lat: float, lng: float, found: list[tuple[float, str, Site]], reach_km: float = math.inf) -> None:
        """Append (distance, id, site) for each site here whose radius reaches the point
        (`reach_km`: the largest radius here).

        The haversine value is computed with `geo.distance_km`'s very operations in its order
        (query point first), so the distance and the verdict are the ones a scan with
        `distance_km` gets, to the bit; the property tests hold the two to it. The cheap test
        against `limit` spares asin and sqrt for the sites out of reach.
        """
        phi1 = radians(lat)
        lam1 = radians(lng)
        cos1 = cos(phi1)
        lo, hi = self._band(lat, reach_km)
        for site, phi2, lam2, cos2, limit in zip(
            self.sites[lo:hi], self.phi[lo:hi], self.lam[lo:hi], self.cos_phi[lo:hi], self.limit[lo:hi], strict=False
        ):
            dphi = sin((phi2 - phi1) * 0.5)
            h = dphi * dphi
            if h > limit:  # too far north or south already
                continue
            dlam = sin((lam2 - lam1) * 0.5)
            h += cos1 * cos2 * dlam * dlam
            if h <= limit:
                d = DIAMETER_KM * asin(sqrt(h if h < 1.0 else 1.0))
                if d <= site.service_radius_km:
                    found.append((d, site.id, site))

    def collect_ring(
        self, lat: float, lng: float, ring: _Ring, found: list[tuple[float, str, Site]], reach_km: float = math.inf
    ) -> None:
        """`collect`, only the sites whose distance lies in the ring (same arithmetic, same bits)."""
        phi1 = radians(lat)
        lam1 = radians(lng)
        cos1 = cos(phi1)
        inner, outer, beyond, within = ring
        lo, hi = self._band(lat, min(reach_km, within))
        for site, phi2, lam2, cos2, limit in zip(
            self.sites[lo:hi], self.phi[lo:hi], self.lam[lo:hi], self.cos_phi[lo:hi], self.limit[lo:hi], strict=False
        ):
            if outer < limit:
                limit = outer
            dphi = sin((phi2 - phi1) * 0.5)
            h = dphi * dphi
            if h > limit:
                continue
            dlam = sin((lam2 - lam1) * 0.5)
            h += cos1 * cos2 * dlam * dlam
            if inner < h <= limit:
                d = DIAMETER_KM * asin(sqrt(h if h < 1.0 else 1.0))
                if beyond < d <= within and d <= site.service_radius_km:
                    found.append((d, site.id, site))


#: (haversine below which a site is surely within `beyond`, above which surely beyond
#: `within`, beyond km, within km)
_Ring = tuple[float, float, float, float]


def _ring(beyond_km: float, within_km: float) -> _Ring:
    inner = haversine_of(beyond_km) * (1.0 - _SLACK) - _SLACK * _SLACK if beyond_km >= 0.0 else -1.0
    outer = haversine_of(within_km) * (1.0 + _SLACK) + _SLACK * _SLACK
    return (inner, outer, beyond_km, within_km)


@cache
def _columns(cell_deg: float) -> tuple[int, ...]:
    """Cells in each row of a grid: as many as fit at the row's widest (equator-side) edge.
    The same for every index, so computed once."""
    counts = []
    for row in range(int(180.0 / cell_deg) + 1):
        south = -90.0 + row * cell_deg
        north = min(90.0, south + cell_deg)
        widest = 0.0 if south <= 0.0 <= north else min(abs(south), abs(north))
        counts.append(max(1, min(_STRIDE - 1, int(360.0 * cos(radians(widest)) / cell_deg))))
    return tuple(counts)


class _Grid:
    """One radius class: cells of about `cell_km` a side, keyed by row and column."""

    __slots__ = ("cell_deg", "cells", "cols", "count", "reach_km", "rows")

    def __init__(self, cell_km: float) -> None:
        self.cell_deg = latitude_reach_deg(cell_km)
        self.cols = _columns(self.cell_deg)
        self.rows = len(self.cols)
        self.cells: dict[int, _Cell] = {}
        self.count = 0
        #: the largest radius ever held (never shrinks: a query may look a little too far,
        #: never not far enough)
        self.reach_km = 0.0

    def _row(self, lat: float) -> int:
        return min(self.rows - 1, max(0, floor((lat + 90.0) / self.cell_deg)))

    def key(self, lat: float, lng: float) -> int:
        """The cell of a position: the same arithmetic as `near`, so they agree at edges."""
        row = self._row(lat)
        n = self.cols[row]
        return row * _STRIDE + floor((lng + 180.0) / 360.0 * n) % n

    def add(self, site: Site) -> None:
        key = self.key(site.lat, site.lng)
        cell = self.cells.get(key)
        if cell is None:
            cell = self.cells[key] = _Cell()
        cell.add(site)
        self.count += 1
        if site.service_radius_km > self.reach_km:
            self.reach_km = site.service_radius_km

    def discard(self, site: Site) -> None:
        key = self.key(site.lat, site.lng)
        cell = self.cells.get(key)
        if cell is None:
            return
        before = len(cell)
        cell.discard(site.id)
        self.count -= before - len(cell)
        if not cell:
            del self.cells[key]

    def near(self, lat: float, lng: float, reach_km: float | None = None) -> Iterator[_Cell]:
        """The non-empty cells that may hold a site within `reach_km` (default: the class's
        largest radius) of the point."""
        km = (self.reach_km if reach_km is None else reach_km) * (1.0 + _SLACK) + _MARGIN_KM
        dlat = latitude_reach_deg(km)
        first = self._row(lat - dlat)
        last = self._row(lat + dlat)
        dlng = longitude_reach_deg(lat, km)
        cells = self.cells
        for row in range(first, last + 1):
            n = self.cols[row]
            base = row * _STRIDE
            if dlng is None:
                columns = range(n)
            else:
                west = floor((lng - dlng + 180.0) / 360.0 * n)
                east = floor((lng + dlng + 180.0) / 360.0 * n)
                columns = range(n) if east - west + 1 >= n else range(west, east + 1)
            for column in columns:
                cell = cells.get(base + column % n)
                if cell is not None:
                    yield cell


class LocationIndex:
    """The active sites of one tenant, by id and by where they reach."""

    __slots__ = ("_far", "_grids", "_profiles", "_sites")

    def __init__(self) -> None:
        self._sites: dict[str, Site] = {}
        #: (kind, prep_minutes) -> how many sites have it
        self._profiles: dict[tuple[str, int], int] = {}
        self._grids = [_Grid(bound * CELL_FACTOR) for bound in RADIUS_CLASSES_KM]
        #: sites whose radius exceeds every class: few, scanned whole
        self._far = _Cell()

    def __len__(self) -> int:
        return len(self._sites)

    def __contains__(self, location_id: object) -> bool:
        return location_id in self._sites

    def get(self, location_id: str) -> Site | None:
        return self._sites.get(location_id)

    def sites(self) -> Iterator[Site]:
        return iter(self._sites.values())

    def upsert(self, site: Site) -> None:
        """Add a site, or move it (position, radius, anything) when its id is already here."""
        self.remove(site.id)
        self._sites[site.id] = site
        profile = (site.kind, site.prep_minutes)
        self._profiles[profile] = self._profiles.get(profile, 0) + 1
        grid = self._grid(site.service_radius_km)
        if grid is None:
            self._far.add(site)
        else:
            grid.add(site)

    def remove(self, location_id: str) -> bool:
        """Forget a site; False when it was not here."""
        site = self._sites.pop(location_id, None)
        if site is None:
            return False
        profile = (site.kind, site.prep_minutes)
        left = self._profiles[profile] - 1
        if left:
            self._profiles[profile] = left
        else:
            del self._profiles[profile]
        grid = self._grid(site.service_radius_km)
        if grid is None:
            self._far.discard(location_id)
        else:
            grid.discard(site)
        return True

    def profiles(self) -> Iterator[tuple[str, int]]:
        """The distinct (kind, prep_minutes) of the sites here: a handful, whatever the size."""
        return iter(self._profiles)

    def covering(
        self, lat: float, lng: float, *, beyond_km: float = -1.0, within_km: float = math.inf
    ) -> list[tuple[Site, float]]:
        """Every site whose service radius reaches (lat, lng), with its great-circle distance
        in km, nearest first (ties by id): exactly what a scan with `distance_km` would
        return, in the same order. With `beyond_km` / `within_km`, only those at a distance
        in that ring: rings that tile the line return, one after the other, the same sites
        as one call without them."""
        found: list[tuple[float, str, Site]] = []
        if beyond_km < 0.0 and within_km == math.inf:
            for grid in self._grids:
                if grid.count:
                    for cell in grid.near(lat, lng):
                        cell.collect(lat, lng, found, grid.reach_km)
            if self._far:
                self._far.collect(lat, lng, found)
        else:
            ring = _ring(beyond_km, within_km)
            for grid in self._grids:
                # no site of a class whose largest radius is within `beyond_km` reaches past it
                if grid.count and grid.reach_km > beyond_km:
                    for cell in grid.near(lat, lng, min(grid.reach_km, within_km)):
                        cell.collect_ring(lat, lng, ring, found, grid.reach_km)
            if self._far:
                self._far.collect_ring(lat, lng, ring, found)
        found.sort()  # (distance, id) is unique per site: sites themselves are never compared
        return [(site, d) for d, _, site in found]

    def within(self, lat: float, lng: float, km: float) -> list[tuple[Site, float]]:
        """Every site whose own position lies within `km` of (lat, lng), whatever its service
        radius, nearest first (ties by id): "which pickup points are near me", as opposed to
        `covering`'s "who reaches me". Visits, in each class, the cells within `km`."""
        found: list[tuple[float, str, Site]] = []
        phi1 = radians(lat)
        cos1 = cos(phi1)
        lam1 = radians(lng)
        limit = haversine_of(km) * (1.0 + _SLACK) + _SLACK * _SLACK
        cells = [cell for grid in self._grids if grid.count for cell in grid.near(lat, lng, km)]
        if self._far:
            cells.append(self._far)
        for cell in cells:
            for site, phi2, lam2, cos2 in zip(cell.sites, cell.phi, cell.lam, cell.cos_phi, strict=False):
                dphi = sin((phi2 - phi1) * 0.5)
                dlam = sin((lam2 - lam1) * 0.5)
                h = dphi * dphi + cos1 * cos2 * dlam * dlam
                if h <= limit:
                    d = DIAMETER_KM * asin(sqrt(h if h < 1.0 else 1.0))
                    if d <= km:
                        found.append((d, site.id, site))
        found.sort()
        return [(site, d) for d, _, site in found]

    def _grid(self, radius_km: float) -> _Grid | None:
        position = bisect_left(RADIUS_CLASSES_KM, radius_km)
        return self._grids[position] if position < len(self._grids) else None
