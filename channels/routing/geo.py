"""Great-circle geometry for routing, pure.

Distances are haversine on a sphere of the mean Earth radius (IUGG, 6371.0088 km): within
~0.5 % of the ellipsoid everywhere, which is far inside the uncertainty of a service radius,
and the one formula the index, routing and its tests all share, so they agree to the bit.
"""

from __future__ import annotations

from math import asin, cos, pi, radians, sin, sqrt

EARTH_RADIUS_KM = 6371.0088
DIAMETER_KM = 2.0 * EARTH_RADIUS_KM
#: km along a meridian per degree of latitude
KM_PER_DEGREE = EARTH_RADIUS_KM * pi / 180.0
#: the farthest two points on the sphere can be apart (antipodes)
HALF_CIRCUMFERENCE_KM = EARTH_RADIUS_KM * pi


def distance_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in km between two WGS84 points given in degrees.

    Longitudes need no normalising: 179.9 and -179.9 are 0.2 degrees apart, because the
    formula only uses the sine of half their difference.
    """
    phi1 = radians(lat1)
    phi2 = radians(lat2)
    dphi = sin((phi2 - phi1) * 0.5)
    dlam = sin((radians(lng2) - radians(lng1)) * 0.5)
    h = dphi * dphi + cos(phi1) * cos(phi2) * dlam * dlam
    return DIAMETER_KM * asin(sqrt(h if h < 1.0 else 1.0))


def haversine_of(km: float) -> float:
    """The haversine value `h` that `distance_km` turns into `km` (1.0 at and beyond the
    antipodes): comparing `h` with it filters by distance without asin and sqrt."""
    if km >= HALF_CIRCUMFERENCE_KM:
        return 1.0
    half = sin(max(km, 0.0) / (2.0 * EARTH_RADIUS_KM))
    return half * half


def latitude_reach_deg(km: float) -> float:
    """How many degrees of latitude a point `km` away can differ by (exact on the sphere)."""
    return km / KM_PER_DEGREE


def longitude_reach_deg(lat: float, km: float) -> float | None:
    """The most degrees of longitude a point within `km` of a point at latitude `lat` can
    differ by; None when that disc reaches a pole, where every longitude is within reach.

    The disc of angular radius d around latitude phi spans asin(sin d / cos phi) of
    longitude either side: longitude shrinks with latitude, so the span widens poleward.
    """
    reach = km / EARTH_RADIUS_KM  # radians
    phi = radians(abs(lat))
    if reach >= pi / 2.0 - phi:
        return None
    return asin(min(1.0, sin(reach) / cos(phi))) * 180.0 / pi
