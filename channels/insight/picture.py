"""The coverage map as a picture an operator opens in any browser: an SVG drawn here, pure.

Cells are H3 hexagons coloured by how fast the basket can be promised there; the locations
holding stock are dots (their name and kind in a tooltip). The projection is equirectangular
around the map's middle latitude (km east and north at the same scale), which is what a city
or a region looks like on any web map at that zoom.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import cos, radians
from xml.sax.saxutils import escape, quoteattr

import msgspec

#: bucket -> (fill, legend)
COLOURS: dict[str, tuple[str, str]] = {
    "30m": ("#1b9e77", "within 30 minutes"),
    "4h": ("#e6ab02", "within 4 hours"),
    "next_day": ("#7570b3", "next day"),
}
BACKGROUND = "#ffffff"
WIDTH = 960
MARGIN = 20
LEGEND = 110


class Marker(msgspec.Struct, frozen=True):
    lat: float
    lng: float
    label: str


class Projection(msgspec.Struct, frozen=True):
    west: float
    north: float
    scale: float  # px per degree of latitude
    squeeze: float  # cos(middle latitude): degrees of longitude are this much shorter

    def xy(self, lng: float, lat: float) -> tuple[float, float]:
        return (
            MARGIN + (lng - self.west) * self.scale * self.squeeze,
            MARGIN + (self.north - lat) * self.scale,
        )


def projection(bbox: Sequence[float]) -> tuple[Projection, int]:
    """The projection of [west, south, east, north] onto the drawing, and the drawing's height."""
    west, south, east, north = bbox
    squeeze = cos(radians((north + south) / 2))
    span_x = max((east - west) * squeeze, 1e-9)
    scale = (WIDTH - 2 * MARGIN) / span_x
    height = int((north - south) * scale) + 2 * MARGIN
    return Projection(west=west, north=north, scale=scale, squeeze=squeeze), height


def render(
    title: str, bbox: Sequence[float], cells: Sequence[tuple[str, str, list[list[float]]]], markers: Sequence[Marker]
) -> str:
    """An SVG document: `cells` are (h3, bucket, closed ring of [lng, lat]) in drawing order."""
    proj, height = projection(bbox)
    total = height + LEGEND
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{total}" '
        f'viewBox="0 0 {WIDTH} {total}" font-family="sans-serif">',
        f"<title>{escape(title)}</title>",
        f'<rect x="0" y="0" width="{WIDTH}" height="{total}" fill="{BACKGROUND}"/>',
        '<g id="cells">',
    ]
    for ident, bucket, ring in cells:
        fill = COLOURS[bucket][0]
        points = " ".join(f"{x:.2f},{y:.2f}" for x, y in (proj.xy(lng, lat) for lng, lat in ring[:-1]))
        parts.append(
            f'<polygon data-h3="{ident}" data-bucket="{bucket}" points="{points}" fill="{fill}" '
            f'stroke="{fill}" stroke-width="0.6"/>'
        )
    parts.append("</g>")
    parts.append('<g id="locations">')
    for marker in markers:
        x, y = proj.xy(marker.lng, marker.lat)
        parts.append(
            f'<circle cx="{x:.2f}" cy="{y:.2f}" r="3" fill="#222222" stroke="#ffffff" stroke-width="1">'
            f"<title>{escape(marker.label)}</title></circle>"
        )
    parts.append("</g>")
    y = height + 24
    parts.append(f'<text x="{MARGIN}" y="{y}" font-size="16" fill="#222222">{escape(title)}</text>')
    for index, (bucket, (fill, label)) in enumerate(COLOURS.items()):
        x = MARGIN + index * 220
        parts.append(
            f'<rect x="{x}" y="{y + 16}" width="18" height="18" fill="{fill}" data-legend={quoteattr(bucket)}/>'
        )
        parts.append(f'<text x="{x + 26}" y="{y + 30}" font-size="14" fill="#222222">{escape(label)}</text>')
    parts.append(
        f'<circle cx="{MARGIN + 3 * 220 + 9}" cy="{y + 25}" r="4" fill="#222222"/>'
        f'<text x="{MARGIN + 3 * 220 + 22}" y="{y + 30}" font-size="14" fill="#222222">a location with stock</text>'
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
