"""Replenishment advice, pure (DESIGN §15): which transfers from central warehouses would turn
demand that was refused, or only promised next day, into near or mid promises.

Input, per SKU: the demand by H3 cell (units refused for lack of stock, units ordered that
only a far location could serve), the **receivers** that could serve each cell faster (a
store, kitchen or forward warehouse whose radius reaches the cell's centre and whose supplier
offers the SKU, with the units it has now and the tier it would promise there), and the
**sources** (each supplier's central warehouses with units available). Transfers stay within
one supplier, as the ledger's transfers do.

Greedy, per SKU: take the receiver whose reach holds the most unmet units that it cannot
already cover, with a source of its own supplier; suggest moving what it lacks (capped by the
source's units); count those cells as served; repeat until no receiver gains anything. Ties go
to the faster tier, then the location id, so advice is repeatable.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from channels.routing.promise import TIERS


class Demand(msgspec.Struct, frozen=True):
    cell: str
    sku: str
    refused: int
    far: int

    @property
    def unmet(self) -> int:
        return self.refused + self.far


class Receiver(msgspec.Struct, frozen=True):
    location_id: str
    supplier_id: str
    sku: str
    available: int
    #: cell -> the tier this location would promise at the cell's centre
    cells: dict[str, str]


class Source(msgspec.Struct, frozen=True):
    location_id: str
    supplier_id: str
    sku: str
    available: int


class Suggestion(msgspec.Struct, frozen=True):
    sku: str
    supplier_id: str
    from_location_id: str
    to_location_id: str
    qty: int
    cells: tuple[str, ...]
    refused: int
    far: int
    tier: str


def advise(demand: Sequence[Demand], receivers: Sequence[Receiver], sources: Sequence[Source]) -> list[Suggestion]:
    suggestions: list[Suggestion] = []
    for sku in sorted({d.sku for d in demand}):
        refused = {d.cell: d.refused for d in demand if d.sku == sku and d.unmet > 0}
        far = {d.cell: d.far for d in demand if d.sku == sku and d.unmet > 0}
        left = {s.location_id: s.available for s in sources if s.sku == sku}
        by_supplier: dict[str, list[Source]] = {}
        for each in sorted((s for s in sources if s.sku == sku), key=lambda s: (-s.available, s.location_id)):
            by_supplier.setdefault(each.supplier_id, []).append(each)
        stocked = {r.location_id: r.available for r in receivers if r.sku == sku}
        while True:
            best: tuple[tuple[int, int, str], Receiver, Source, list[str], int] | None = None
            for receiver in receivers:
                if receiver.sku != sku:
                    continue
                origin = next((s for s in by_supplier.get(receiver.supplier_id, []) if left[s.location_id] > 0), None)
                if origin is None or origin.location_id == receiver.location_id:
                    continue
                covered = sorted(c for c in receiver.cells if refused.get(c, 0) + far.get(c, 0) > 0)
                gain = sum(refused[c] + far[c] for c in covered)
                need = gain - stocked[receiver.location_id]
                if need <= 0:
                    continue
                fastest = min(TIERS.index(receiver.cells[c]) for c in covered)
                key = (-need, fastest, receiver.location_id)
                if best is None or key < best[0]:
                    best = (key, receiver, origin, covered, need)
            if best is None:
                break
            _, receiver, source, covered, need = best
            qty = min(need, left[source.location_id])
            left[source.location_id] -= qty
            budget = qty + stocked[receiver.location_id]
            answered_refused = answered_far = 0
            for cell in sorted(covered, key=lambda c: (-(refused[c] + far[c]), c)):
                take = min(refused[cell], budget)
                refused[cell] -= take
                budget -= take
                answered_refused += take
                take = min(far[cell], budget)
                far[cell] -= take
                budget -= take
                answered_far += take
            stocked[receiver.location_id] = budget  # units it still holds for demand elsewhere
            suggestions.append(
                Suggestion(
                    sku=sku,
                    supplier_id=receiver.supplier_id,
                    from_location_id=source.location_id,
                    to_location_id=receiver.location_id,
                    qty=qty,
                    cells=tuple(covered),
                    refused=answered_refused,
                    far=answered_far,
                    tier=min((receiver.cells[c] for c in covered), key=TIERS.index),
                )
            )
    return suggestions
