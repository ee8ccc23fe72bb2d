"""Replenishment advice's I/O edge: the period's demand by H3 cell (orders, with what only a far
location served, and refusals for lack of stock), the stock of the stores and forward
warehouses reaching each cell, the central warehouses' stock; `replenish.advise` decides."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import h3

from channels.insight import replenish
from channels.insight.schemas import DemandCellOut, ReplenishmentOut, SuggestionOut, TransferBody
from channels.insight.services import day_bounds
from channels.routing.directory import index_for
from channels.routing.facts import serves
from channels.routing.promise import promise
from gateway.clock import utcnow
from gateway.records import json_value
from gateway.storage import db

#: the receivers of a transfer: locations that promise faster than next day
RECEIVING_KINDS = frozenset({"store", "kitchen", "forward_warehouse"})
#: demand cells shown, the most unmet first
MAX_CELLS = 500


async def _demand(
    tenant_id: str, first: date, last: date, resolution: int, sku: str | None
) -> dict[tuple[str, str], list[int]]:
    """(cell, sku) -> [ordered units, of which far, refused units]."""
    start, end = day_bounds(first, last)
    found: dict[tuple[str, str], list[int]] = {}
    rows = await db().fetch(
        "SELECT f.lines, f.tier, o.destination FROM fulfilment_orders f JOIN orders o "
        "ON o.tenant_id = f.tenant_id AND o.id = f.order_id "
        "WHERE f.tenant_id = ? AND f.created_at >= ? AND f.created_at < ? AND f.status <> 'rejected'",
        tenant_id,
        start,
        end,
    )
    for row in rows:
        where = json_value(row["destination"])
        cell = h3.latlng_to_cell(where["lat"], where["lng"], resolution)
        for line in json_value(row["lines"]):
            if sku is not None and line["sku"] != sku:
                continue
            counts = found.setdefault((cell, line["sku"]), [0, 0, 0])
            counts[0] += line["qty"]
            if row["tier"] == "far":
                counts[1] += line["qty"]
    for row in await db().fetch(
        "SELECT lat, lng, unfilled FROM demand_refusals WHERE tenant_id = ? AND at >= ? AND at < ? "
        "AND reason = 'out-of-stock'",
        tenant_id,
        start,
        end,
    ):
        cell = h3.latlng_to_cell(row["lat"], row["lng"], resolution)
        for line in json_value(row["unfilled"]):
            if sku is None or line["sku"] == sku:
                found.setdefault((cell, line["sku"]), [0, 0, 0])[2] += line["qty"]
    return found


async def _offered(tenant_id: str, skus: Sequence[str]) -> set[tuple[str, str]]:
    """(supplier, sku) pairs with an active offer by an active supplier."""
    rows = await db().fetch(
        "SELECT o.supplier_id, o.sku FROM offers o JOIN suppliers s ON s.tenant_id = o.tenant_id AND s.id = o.supplier_id "
        f"WHERE o.tenant_id = ? AND o.active = ? AND s.status = 'active' AND o.sku IN ({', '.join('?' for _ in skus)})",
        tenant_id,
        True,
        *skus,
    )
    return {(row["supplier_id"], row["sku"]) for row in rows}


async def _available(tenant_id: str, skus: Sequence[str]) -> dict[tuple[str, str], int]:
    """(location, sku) -> units available now, where any."""
    rows = await db().fetch(
        "SELECT location_id, sku, on_hand - reserved - committed - safety_stock AS available FROM inventory_levels "
        f"WHERE tenant_id = ? AND sku IN ({', '.join('?' for _ in skus)}) "
        "AND on_hand - reserved - committed - safety_stock > 0",
        tenant_id,
        *skus,
    )
    return {(row["location_id"], row["sku"]): int(row["available"]) for row in rows}


async def advice(tenant_id: str, first: date, last: date, resolution: int, sku: str | None) -> ReplenishmentOut:
    demand = await _demand(tenant_id, first, last, resolution, sku)
    skus = sorted({s for _, s in demand})
    index = await index_for(tenant_id)
    offered = await _offered(tenant_id, skus) if skus else set()
    available = await _available(tenant_id, skus) if skus else {}
    now = utcnow()
    receivers: dict[tuple[str, str], dict[str, Any]] = {}
    local: dict[tuple[str, str], int] = {}
    for (cell, wanted), _counts in sorted(demand.items()):
        lat, lng = h3.cell_to_latlng(cell)
        for site, distance in index.covering(lat, lng):
            if site.kind not in RECEIVING_KINDS or not serves(site, "delivery", None):
                continue
            if (site.supplier_id, wanted) not in offered:
                continue
            units = available.get((site.id, wanted), 0)
            local[(cell, wanted)] = local.get((cell, wanted), 0) + units
            made = promise(site, distance, now)
            if made is None or made.tier == "far":
                continue
            entry = receivers.setdefault(
                (site.id, wanted),
                {"supplier_id": site.supplier_id, "available": units, "cells": {}},
            )
            entry["cells"][cell] = made.tier
    sources = [
        replenish.Source(location_id=location_id, supplier_id=central.supplier_id, sku=wanted, available=units)
        for (location_id, wanted), units in sorted(available.items())
        if (central := index.get(location_id)) is not None
        and central.kind == "central_warehouse"
        and (central.supplier_id, wanted) in offered
    ]
    suggestions = replenish.advise(
        [replenish.Demand(cell=cell, sku=s, refused=c[2], far=c[1]) for (cell, s), c in sorted(demand.items())],
        [
            replenish.Receiver(
                location_id=location_id,
                supplier_id=entry["supplier_id"],
                sku=wanted,
                available=entry["available"],
                cells=entry["cells"],
            )
            for (location_id, wanted), entry in sorted(receivers.items())
        ],
        sources,
    )
    cells = sorted(demand.items(), key=lambda item: (-(item[1][1] + item[1][2]), -item[1][0], item[0]))[:MAX_CELLS]
    return ReplenishmentOut(
        from_=first,
        to=last,
        resolution=resolution,
        demand=[
            DemandCellOut(
                h3=cell,
                lat=h3.cell_to_latlng(cell)[0],
                lng=h3.cell_to_latlng(cell)[1],
                sku=wanted,
                ordered_units=counts[0],
                far_units=counts[1],
                refused_units=counts[2],
                local_available=local.get((cell, wanted), 0),
            )
            for (cell, wanted), counts in cells
        ],
        suggestions=[
            SuggestionOut(
                sku=s.sku,
                supplier_id=s.supplier_id,
                from_location_id=s.from_location_id,
                to_location_id=s.to_location_id,
                qty=s.qty,
                refused_units=s.refused,
                far_units=s.far,
                cells=list(s.cells),
                tier=s.tier,
                transfer=TransferBody(
                    from_location_id=s.from_location_id,
                    to_location_id=s.to_location_id,
                    sku=s.sku,
                    qty=s.qty,
                    reference=f"replenishment {first.isoformat()}..{last.isoformat()}",
                ),
            )
            for s in suggestions
        ],
    )
