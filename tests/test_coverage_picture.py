"""The coverage picture of the demo: it renders, and its coloured cells are the GeoJSON's.

Two checks: the SVG's hexagons carry exactly the GeoJSON's cells, each in its bucket's colour
and drawn at its boundary; and, when Debian's Chromium is installed, Chromium renders the
SVG and the pixel at each cell's centre has that colour (an independent renderer, read back
with a small PNG decoder written here).
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import msgspec
import pytest

from channels.insight import picture
from channels.insight.coverage import coverage_map
from channels.insight.coverage import picture as draw
from gateway.demo import build_demo

SVG = "{http://www.w3.org/2000/svg}"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
async def demo(client: Any, database: Any) -> dict[str, Any]:
    return await build_demo()


async def demo_map(demo: dict[str, Any]) -> tuple[dict[str, Any], str]:
    rows = demo["try"]
    sku = next(line.split("sku=")[1].split("'")[0] for line in rows if "coverage.svg" in line)
    made, markers = await coverage_map(demo["tenant"]["id"], [sku], 1)
    return msgspec.to_builtins(made), draw(made, markers)


async def test_the_pictures_cells_are_the_geojsons(demo: dict[str, Any]) -> None:
    geojson, svg = await demo_map(demo)
    assert geojson["features"], "the demo's SKU can be promised somewhere"
    root = ElementTree.fromstring(svg)  # well-formed
    drawn = {p.get("data-h3"): p for p in root.iter(f"{SVG}polygon")}
    assert set(drawn) == {f["properties"]["h3"] for f in geojson["features"]}
    proj, _ = picture.projection(geojson["bbox"])
    for feature in geojson["features"]:
        polygon = drawn[feature["properties"]["h3"]]
        bucket = feature["properties"]["bucket"]
        assert polygon.get("data-bucket") == bucket
        assert polygon.get("fill") == picture.COLOURS[bucket][0] == feature["properties"]["fill"]
        points = [tuple(float(v) for v in pair.split(",")) for pair in (polygon.get("points") or "").split()]
        ring = feature["geometry"]["coordinates"][0][:-1]
        assert len(points) == len(ring)
        for (x, y), (lng, lat) in zip(points, ring, strict=True):
            px, py = proj.xy(lng, lat)
            assert abs(x - px) < 0.01 and abs(y - py) < 0.01
    buckets = {f["properties"]["bucket"] for f in geojson["features"]}
    assert len(buckets) >= 2, f"the demo shows more than one kind of promise: {buckets}"


async def test_the_http_picture_is_an_svg(demo: dict[str, Any], client: Any) -> None:
    sku = next(line.split("sku=")[1].split("'")[0] for line in demo["try"] if "coverage.svg" in line)
    response = await client.get(
        "/v1/insight/coverage.svg", params={"sku": sku}, headers={"Authorization": f"Bearer {demo['operator_key']}"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert ElementTree.fromstring(response.text).tag == f"{SVG}svg"


def read_png(data: bytes) -> tuple[int, int, list[bytearray], int]:
    """(width, height, rows, bytes per pixel) of an 8-bit RGB or RGBA PNG, non-interlaced."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    at, idat, width, height, channels = 8, b"", 0, 0, 0
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        at += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytearray] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append(line)
        previous = line
    return width, height, rows, channels


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
async def test_chromium_paints_each_cell_in_its_colour(demo: dict[str, Any], tmp_path: Path) -> None:
    geojson, svg = await demo_map(demo)
    source = tmp_path / "coverage.svg"
    source.write_text(svg)
    root = ElementTree.fromstring(svg)
    height = int(root.get("height") or 0)
    shot = tmp_path / "coverage.png"
    subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--window-size={picture.WIDTH},{height}",
            f"--screenshot={shot}",
            source.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    width, tall, rows, channels = read_png(shot.read_bytes())
    assert width == picture.WIDTH
    proj, _ = picture.projection(geojson["bbox"])
    markers = [(float(c.get("cx") or 0), float(c.get("cy") or 0)) for c in root.iter(f"{SVG}circle")]
    checked = 0
    for feature in geojson["features"]:
        ring = feature["geometry"]["coordinates"][0][:-1]
        cx = sum(proj.xy(lng, lat)[0] for lng, lat in ring) / len(ring)
        cy = sum(proj.xy(lng, lat)[1] for lng, lat in ring) / len(ring)
        if any(abs(cx - mx) < 7 and abs(cy - my) < 7 for mx, my in markers) or not (0 <= cy < tall):
            continue
        x, y = int(cx), int(cy)
        pixel = tuple(rows[y][x * channels : x * channels + 3])
        want = tuple(int(feature["properties"]["fill"][i : i + 2], 16) for i in (1, 3, 5))
        assert all(abs(a - b) <= 6 for a, b in zip(pixel, want, strict=True)), (feature["properties"], pixel)
        checked += 1
    assert checked > len(geojson["features"]) * 0.9


async def test_the_command_line_draws_the_same_map(demo: dict[str, Any], database_url: str, tmp_path: Path) -> None:
    import json
    import os
    import sys

    sku = next(line.split("sku=")[1].split("'")[0] for line in demo["try"] if "coverage.svg" in line)
    out, geo = tmp_path / "map.svg", tmp_path / "map.json"
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "coverage", sku, "--tenant", demo["tenant"]["id"], "--out", str(out)]
        + ["--geojson", str(geo)],
        env={**os.environ, "GATEWAY_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    made = json.loads(geo.read_text())
    drawn = {p.get("data-h3") for p in ElementTree.fromstring(out.read_text()).iter(f"{SVG}polygon")}
    assert drawn == {f["properties"]["h3"] for f in made["features"]} and drawn
    missing = subprocess.run(
        [sys.executable, "-m", "gateway", "coverage", "NO-SUCH-SKU", "--tenant", demo["tenant"]["id"]],
        env={**os.environ, "GATEWAY_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert missing.returncode == 1 and "No such sku" in missing.stderr
