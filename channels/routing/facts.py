"""What routing knows of the sites around a destination besides where they are, and the pure
step that turns sites and these facts into `core.Candidate`s (DESIGN §6).

`services.candidates` reads the facts for the sites reaching one destination; the coverage map
(`coverage.py`) reads them once for a whole area and assembles candidates at every cell with
this same function, so both see exactly the same candidates.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import msgspec

from channels.routing import core
from channels.routing.promise import StartMemo, promise
from channels.routing.sites import Site


class Facts(msgspec.Struct, kw_only=True):
    #: location -> sku -> units available now, for the skus it may sell at the listing price
    stock: dict[str, dict[str, int]]
    #: location -> sku -> wholesale amount per unit
    cost: dict[str, dict[str, int]]
    #: supplier -> perfect-order rate with its prior, for every supplier of a stocked location
    reliability: dict[str, float]
    #: location -> fulfilment orders it took on its local today (capacity-limited ones)
    loads: dict[str, int]


def serves(site: Site, mode: str, pickup_point_id: str | None) -> bool:
    """Whether a site reaching the destination may take part in this mode: delivery needs a site
    that delivers (or the pickup point itself, for a pickup there); a pickup without a point
    needs a site the consumer can collect from."""
    if mode == "delivery" or pickup_point_id is not None:
        return "delivery" in site.modes or (site.id == pickup_point_id and "pickup" in site.modes)
    return "pickup" in site.modes


def assemble(
    sites: Iterable[tuple[Site, float]],
    facts: Facts,
    now: datetime,
    mode: str,
    pickup_point_id: str | None,
    memo: StartMemo | None = None,
) -> list[core.Candidate]:
    """The candidates among `sites` (already filtered by reach and mode, nearest first): those
    with stock, with the promise each can make now; a site that opens no day this week drops out."""
    memo = {} if memo is None else memo
    found = []
    for site, distance in sites:
        stock = facts.stock.get(site.id)
        if stock is None:
            continue
        travels = mode == "delivery" or (pickup_point_id is not None and site.id != pickup_point_id)
        made = promise(site, distance, now, travels=travels, taken_today=facts.loads.get(site.id, 0), memo=memo)
        if made is None:
            continue  # closed for the coming week
        found.append(
            core.Candidate(
                site=site,
                distance_km=distance,
                promise=made,
                reliability=facts.reliability[site.supplier_id],
                stock=stock,
                cost=facts.cost[site.id],
            )
        )
    return found
