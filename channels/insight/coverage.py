"""The coverage map's I/O edge: the tenant's index, prices, policy and the facts of the sites
holding the basket, read once; `channels.routing.coverage` decides every cell."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from channels.insight.picture import COLOURS, Marker, render
from channels.insight.schemas import CellFeature, CellProperties, CoverageBasketLine, CoverageMap, Polygon
from channels.listings.services import listed_prices
from channels.routing import core, coverage
from channels.routing import services as routing
from channels.routing.directory import index_for
from channels.statements.periods import unusable
from gateway.clock import utcnow
from gateway.http.problems import FieldError, ProblemError
from gateway.storage import db

#: the price ceiling when the operator asks without naming a channel: any active offer counts
UNBOUNDED = 10**15


async def _prices(tenant_id: str, skus: Sequence[str], channel_id: str | None) -> dict[str, routing.Offered]:
    """The prices the basket is sold at: a channel's listing prices, or none at all (every offer
    counts, in the currency most of the SKU's offers use)."""
    known = {
        row["sku"]
        for row in await db().fetch(
            f"SELECT sku FROM variants WHERE tenant_id = ? AND sku IN ({', '.join('?' for _ in skus)})",
            tenant_id,
            *skus,
        )
    }
    missing = [index for index, sku in enumerate(skus) if sku not in known]
    if missing:
        raise ProblemError(
            404,
            f"No such sku: {', '.join(skus[i] for i in missing)}",
            errors=[FieldError(field="sku", message=f"no such sku: {skus[i]}", location="query") for i in missing],
        )
    if channel_id is not None:
        listed = await listed_prices(tenant_id, channel_id, skus)
        unlisted = [sku for sku in skus if sku not in listed]
        if unlisted:
            raise ProblemError(
                409,
                f"The channel does not list {', '.join(unlisted)}",
                slug="not-listed",
                errors=[FieldError(field="sku", message=f"not listed: {sku}", location="query") for sku in unlisted],
            )
        return {sku: routing.Offered(amount=price.amount, currency=price.currency) for sku, price in listed.items()}
    counts: dict[str, dict[str, int]] = {}
    for row in await db().fetch(
        "SELECT sku, currency, COUNT(*) AS n FROM offers WHERE tenant_id = ? AND active = ? "
        f"AND sku IN ({', '.join('?' for _ in skus)}) GROUP BY sku, currency",
        tenant_id,
        True,
        *skus,
    ):
        counts.setdefault(row["sku"], {})[row["currency"]] = int(row["n"])
    return {
        sku: routing.Offered(
            amount=UNBOUNDED,
            currency=max(sorted(counts[sku]), key=lambda c: counts[sku][c]) if sku in counts else "XXX",
        )
        for sku in skus
    }


async def coverage_map(
    tenant_id: str,
    skus: Sequence[str],
    qty: int,
    channel_id: str | None = None,
    resolution: int | None = None,
    bbox: coverage.BBox | None = None,
    now: datetime | None = None,
) -> tuple[CoverageMap, list[Marker]]:
    """Where `qty` of each of `skus` can be promised now: the GeoJSON, and the stocked sites to
    mark on a picture."""
    skus = list(dict.fromkeys(skus))
    now = now or utcnow()
    prices = await _prices(tenant_id, skus, channel_id)
    policy = await routing.policy_of(tenant_id)
    index = await index_for(tenant_id)
    box = bbox or coverage.reach_of(coverage.local_sites(index.sites())) or (0.0, 0.0, 0.0, 0.0)
    if resolution is None:
        resolution = coverage.auto_resolution(box)
    if coverage.estimated_cells(box, resolution) > coverage.MAX_CELLS:
        raise unusable("resolution", f"about {coverage.estimated_cells(box, resolution)} cells: choose a coarser one")
    cells = coverage.cells_in(box, resolution) if box[0] < box[2] else []
    stocked = coverage.touching(await routing.stocked_sites(tenant_id, skus), box)
    facts = await routing.facts_for(tenant_id, stocked, prices, now)
    lines = [core.Line(sku, qty) for sku in skus]
    promised = coverage.evaluate(
        cells,
        coverage.stocked_index(stocked, facts),
        facts,
        lines,
        core.make_rules(policy.rules, policy.ranked_location_ids),
        now,
        split_quantities=policy.split_quantities,
    )
    features = [
        CellFeature(
            geometry=Polygon(coordinates=[coverage.boundary(ident)]),
            properties=CellProperties(
                h3=ident,
                bucket=made.bucket,  # type: ignore[arg-type]
                tier=made.tier,
                eta_minutes=made.eta_minutes,
                shipments=len(made.location_ids),
                location_ids=list(made.location_ids),
                fill=COLOURS[made.bucket][0],
            ),
        )
        for ident, made in sorted(promised.items())
    ]
    counts = {bucket: 0 for bucket in COLOURS}
    for made in promised.values():
        counts[made.bucket] += 1
    south, west, north, east = box
    markers = [
        Marker(
            lat=site.lat,
            lng=site.lng,
            label=f"{site.kind.replace('_', ' ')} {site.id}: "
            + ", ".join(f"{units} x {sku}" for sku, units in sorted(facts.stock[site.id].items())),
        )
        for site in stocked
        if site.id in facts.stock and south <= site.lat <= north and west <= site.lng <= east
    ]
    return (
        CoverageMap(
            features=features,
            basket=[CoverageBasketLine(sku=sku, qty=qty) for sku in skus],
            resolution=resolution,
            bbox=[west, south, east, north],
            cells_evaluated=len(cells),
            counts=counts,
            generated_at=now,
        ),
        markers,
    )


def picture(made: CoverageMap, markers: Sequence[Marker]) -> str:
    basket = " + ".join(f"{line.qty} x {line.sku}" if line.qty > 1 else line.sku for line in made.basket)
    title = f"Where {basket} can be promised ({made.generated_at:%Y-%m-%d %H:%M} UTC, H3 resolution {made.resolution})"
    cells = [(f.properties.h3, f.properties.bucket, f.geometry.coordinates[0]) for f in made.features]
    return render(title, made.bbox, cells, markers)
