"""The routing decision (DESIGN §6) as pure code: lines + candidates in, shipments out.

Candidates arrive already filtered by the I/O edge (active location and supplier, an offer
at or below the listing price, the mode, the service radius) with their available stock,
promise and supplier reliability. This module only decides, so the same function serves
quotes, orders, re-routes, property tests against brute force and the benchmark.

The decision, with the default rules:

1. fewest shipments: a location that fills every line beats any split. When none does,
   whole lines are split over the fewest locations: exactly for two shipments (every pair is
   tried), greedily beyond (the location filling the most remaining lines first);
2. fastest promise (near, mid, far); 3. nearest; 4. most reliable supplier; then the
   location id, so the choice is deterministic.

When quantities may be split and a line still has no home, its units are taken from the
locations already shipping first, then the best-ranked others, until it is filled.
A tenant reorders these rules or adds its own (`RULES`), e.g. `ranked_locations` to prefer
its own list of locations, or `lowest_cost`.

**Bounded plans.** The I/O edge reads stock for the nearest sites first. Given `Unseen`, lower
bounds on every rule's key of the candidates it has not read (farther than `distance_km`,
their best tier, ...), `plan` also says whether its answer is `settled`: every choice it made
(the best *and* the runner-up of each round, which names the deciding rule) ranks strictly
before anything an unread candidate could show, and no line waits for a split (a candidate
not read might fill it whole). A settled plan is
the plan of the full candidate set, share for share and rule for rule; an unsettled one means
"read farther and plan again".
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

import msgspec

from channels.routing.promise import TIERS, Promise
from channels.routing.sites import Site

DEFAULT_RULES = ("fewest_shipments", "fastest_promise", "nearest", "reliability")


class Line(msgspec.Struct, frozen=True):
    sku: str
    qty: int


class Candidate(msgspec.Struct, kw_only=True):
    site: Site
    distance_km: float
    promise: Promise
    #: the supplier's perfect-order rate in [0, 1] (its scorecard)
    reliability: float = 1.0
    #: sku -> units available now, only for skus this location may sell for this order
    stock: dict[str, int]
    #: sku -> wholesale amount per unit (for `lowest_cost`)
    cost: dict[str, int] = {}


class Share(msgspec.Struct, kw_only=True):
    """One shipment: what one location sends."""

    candidate: Candidate
    lines: list[Line]
    #: the rule that put this share here, for the routing explanation
    decided_by: str


class Plan(msgspec.Struct, kw_only=True):
    shares: list[Share]
    #: what no candidate could fill (empty when the order can be placed)
    unfilled: list[Line]
    considered: int
    #: False when a candidate not shown (`Unseen`) could still change the plan: its shares and
    #: `unfilled` are then incomplete and mean nothing
    settled: bool = True


class Unseen(msgspec.Struct, frozen=True, kw_only=True):
    """Lower bounds on what any candidate not shown to `plan` can be: for a plan over the
    sites nearest a destination, the farther ones whose stock is not read yet."""

    #: they are all farther than this
    distance_km: float
    #: none promises a faster tier than this (an index into `TIERS`)
    tier: int = 0
    #: none promises fewer minutes
    eta_minutes: int = 0
    #: none is ranked higher than this position in the tenant's `ranked_locations`
    rank: int = 0


Key = Callable[[Candidate, dict[str, int]], Any]


def _fills(candidate: Candidate, remaining: dict[str, int]) -> list[str]:
    return [sku for sku, qty in remaining.items() if candidate.stock.get(sku, 0) >= qty]


def make_rules(names: Sequence[str], ranked_location_ids: Sequence[str] = ()) -> list[tuple[str, Key]]:
    """The ranking keys for a tenant's rule names (unknown names were refused at policy write)."""
    rank = {location_id: position for position, location_id in enumerate(ranked_location_ids)}
    unranked = len(rank)
    known: dict[str, Key] = {
        "fewest_shipments": lambda c, remaining: -len(_fills(c, remaining)),
        "fastest_promise": lambda c, remaining: TIERS.index(c.promise.tier),
        "earliest_eta": lambda c, remaining: c.promise.eta_minutes,
        "nearest": lambda c, remaining: c.distance_km,
        "reliability": lambda c, remaining: -c.reliability,
        "ranked_locations": lambda c, remaining: rank.get(c.site.id, unranked),
        "lowest_cost": lambda c, remaining: sum(
            c.cost.get(sku, 0) * qty for sku, qty in remaining.items() if c.stock.get(sku, 0) >= qty
        ),
    }
    return [(name, known[name]) for name in names]


#: every rule name a tenant may use
RULES = (
    "fewest_shipments",
    "fastest_promise",
    "earliest_eta",
    "nearest",
    "reliability",
    "ranked_locations",
    "lowest_cost",
)


def _key(rules: Sequence[tuple[str, Key]], candidate: Candidate, remaining: dict[str, int]) -> tuple[Any, ...]:
    return (*(key(candidate, remaining) for _, key in rules), candidate.site.id)


def _floor(rules: Sequence[tuple[str, Key]], unseen: Unseen, remaining: dict[str, int]) -> tuple[Any, ...] | None:
    """A key no unseen candidate can rank below, rule by rule (so also as a whole: tuples
    compare rule by rule); None when a rule has no known bound (a caller's own rule)."""
    bounds: dict[str, Any] = {
        "fewest_shipments": -len(remaining),  # it might fill every line
        "fastest_promise": unseen.tier,
        "earliest_eta": unseen.eta_minutes,
        "nearest": unseen.distance_km,
        "reliability": -1.0,  # a rate is at most 1
        "ranked_locations": unseen.rank,
        "lowest_cost": -math.inf,
    }
    if any(name not in bounds for name, _ in rules):
        return None
    return (*(bounds[name] for name, _ in rules), "")  # every id sorts after ""


def _deciding_rule(rules: Sequence[tuple[str, Key]], best: tuple[Any, ...], runner_up: tuple[Any, ...] | None) -> str:
    """The first rule whose key set the best candidate apart from the runner-up."""
    if runner_up is None:
        return "only_candidate"
    for (name, _), mine, theirs in zip(rules, best, runner_up, strict=False):
        if mine != theirs:
            return name
    return "location_id"


def rank_for_one_unit(candidates: Sequence[Candidate], rules: Sequence[tuple[str, Key]]) -> list[Candidate]:
    """Candidates in the order `plan` prefers them for one unit of any single sku they stock:
    every one of them fills such an order alone, so the ranking is the rules' keys with no
    lines left to tell them apart (`fewest_shipments` and `lowest_cost`, which depend on the
    lines, rank them all alike). The storefront shows each product's promise from the first
    of these that stocks it, without planning an order per product."""
    constant = ("fewest_shipments", "lowest_cost")  # with no lines left, the same for everyone
    keys = [key for name, key in rules if name not in constant]
    empty: dict[str, int] = {}
    return sorted(candidates, key=lambda c: (*(key(c, empty) for key in keys), c.site.id))


def merge(lines: Sequence[Line]) -> dict[str, int]:
    """Lines by sku, in first-seen order (two lines of one sku are one line of their sum)."""
    merged: dict[str, int] = {}
    for line in lines:
        merged[line.sku] = merged.get(line.sku, 0) + line.qty
    return merged


def _best_pair(
    rules: Sequence[tuple[str, Key]], pool: Sequence[Candidate], remaining: dict[str, int]
) -> tuple[Candidate, Candidate] | None:
    """The best two locations that fill every line between them, or None.

    Only the best-ranked candidate of each set of lines it fills can be in the best pair,
    so the pairs tried are pairs of distinct fill sets, not of candidates.
    """
    best_of: dict[frozenset[str], Candidate] = {}
    for candidate in pool:
        fills = frozenset(_fills(candidate, remaining))
        if fills and (
            fills not in best_of or _key(rules, candidate, remaining) < _key(rules, best_of[fills], remaining)
        ):
            best_of[fills] = candidate
    everything = frozenset(remaining)
    pairs = []
    for (fills_a, a), (fills_b, b) in itertools.combinations(best_of.items(), 2):
        if fills_a | fills_b != everything:
            continue
        # the better-ranked one ships what it fills; its partner is ranked on what is left
        first, second = sorted((a, b), key=lambda c: _key(rules, c, remaining))
        rest = {sku: qty for sku, qty in remaining.items() if sku not in _fills(first, remaining)}
        pairs.append(((_key(rules, first, remaining), _key(rules, second, rest)), first, second))
    if not pairs:
        return None
    _, first, second = min(pairs, key=lambda pair: pair[0])
    return first, second


def plan(
    lines: Sequence[Line],
    candidates: Sequence[Candidate],
    rules: Sequence[tuple[str, Key]] | None = None,
    *,
    split_quantities: bool = False,
    unseen: Unseen | None = None,
) -> Plan:
    """Where each line ships from. `candidates` must already satisfy every filter of DESIGN §6
    except stock, which is in `Candidate.stock`. With `unseen`, the candidates are only the
    nearest and the plan says whether it is `settled` (see the module's docstring); an
    unsettled plan stops at the first choice an unseen candidate could change."""
    rules = list(rules if rules is not None else make_rules(DEFAULT_RULES))
    remaining = merge(lines)
    pool = [c for c in candidates if any(c.stock.get(sku, 0) > 0 for sku in remaining)]
    shares: list[Share] = []

    def take(candidate: Candidate, skus: Sequence[str], decided_by: str) -> None:
        shares.append(
            Share(candidate=candidate, lines=[Line(sku, remaining[sku]) for sku in skus], decided_by=decided_by)
        )
        for sku in skus:
            del remaining[sku]
        pool.remove(candidate)

    def unsettled() -> Plan:
        return Plan(shares=shares, unfilled=[], considered=len(candidates), settled=False)

    minimise = bool(rules) and rules[0][0] == "fewest_shipments"
    first_round = True
    while remaining:
        # each candidate's key once per round: the best two say who wins and which rule decided
        scored = [(_key(rules, c, remaining), c) for c in pool if _fills(c, remaining)]
        if not scored:
            if unseen is not None:
                return unsettled()  # an unseen candidate may fill a line whole
            break
        top = heapq.nsmallest(2, scored, key=itemgetter(0))
        if unseen is not None:
            # the winner and the runner-up (which names the deciding rule) must both rank
            # before any unseen candidate; a partial fill never does when the first rule is
            # `fewest_shipments`, so the pairs below are only ever tried over everything
            floor = _floor(rules, unseen, remaining)
            if floor is None or len(top) < 2 or not top[1][0] < floor:
                return unsettled()
        best_key, best = top[0]
        if minimise and first_round and len(_fills(best, remaining)) < len(remaining):
            pair = _best_pair(rules, [c for _, c in scored], remaining)
            if pair is not None:
                first, second = pair
                take(first, _fills(first, remaining), "fewest_shipments")
                take(second, _fills(second, remaining), "fewest_shipments")
                break
        take(best, _fills(best, remaining), _deciding_rule(rules, best_key, top[1][0] if len(top) > 1 else None))
        first_round = False

    # with `unseen`, a line no candidate read fills whole has already made the plan unsettled
    # (an unseen one might): what is left to split here was left by everyone
    if remaining and split_quantities:
        _split_quantities(rules, shares, pool, remaining)
    return Plan(shares=shares, unfilled=[Line(sku, qty) for sku, qty in remaining.items()], considered=len(candidates))


def _split_quantities(
    rules: Sequence[tuple[str, Key]], shares: list[Share], pool: list[Candidate], remaining: dict[str, int]
) -> None:
    """Fill what is left unit-wise: locations already shipping first (no new shipment), then
    the best-ranked others. A line that cannot be filled in total is left untouched."""
    for sku in list(remaining):
        qty = remaining[sku]
        shipping = [(s.candidate, s) for s in shares if s.candidate.stock.get(sku, 0) > 0]
        others = sorted((c for c in pool if c.stock.get(sku, 0) > 0), key=lambda c: _key(rules, c, {sku: 1}))
        sources: list[tuple[Candidate, Share | None]] = [*shipping, *((c, None) for c in others)]
        if sum(c.stock[sku] for c, _ in sources) < qty:
            continue
        for candidate, share in sources:
            units = min(qty, candidate.stock[sku])
            if share is None:
                share = Share(candidate=candidate, lines=[], decided_by="split_quantities")
                shares.append(share)
                pool.remove(candidate)
            share.lines.append(Line(sku, units))
            qty -= units
            if qty == 0:
                break
        del remaining[sku]
