"""The I/O edge of routing: a tenant's policy, and the candidates for an order.

`decide` is the decision an order, a quote or a re-route gets: it reads the facts of the sites
nearest the destination first (one statement per batch: stock at the listing price, cost,
the supplier's scorecard, today's load) and widens only while `core.plan` says its plan is
not settled. `candidates` is the same over every site in reach, for those that want them all
(and as the reference the property tests hold `decide` to). Either applies every filter of
DESIGN §6 that needs the database (supplier active, an active offer at or below the listing
price, stock) and computes each promise; the decision itself is `core.plan`, pure.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import msgspec

from channels.routing import core, facts
from channels.routing.directory import index_for
from channels.routing.geo import distance_km
from channels.routing.index import LocationIndex
from channels.routing.promise import TIERS, StartMemo, local_day, promise, soonest, tier_of
from channels.routing.sites import KIND_TIERS, Site
from gateway.clock import utcnow
from gateway.events.services import emit
from gateway.http.problems import FieldError, ProblemError, conflict
from gateway.records import json_value as _decoded
from gateway.storage import db
from suppliers.fulfilment import scores

#: location ids per `IN (...)` list
CHUNK = 500


class Policy(msgspec.Struct, kw_only=True):
    rules: list[str] = msgspec.field(default_factory=lambda: list(core.DEFAULT_RULES))
    ranked_location_ids: list[str] = msgspec.field(default_factory=list)
    acceptance_deadline_minutes: int = 15
    take_rate_bps: int = 500
    quote_ttl_seconds: int = 600
    split_quantities: bool = True
    #: tier -> fee amount (minor units, in the order's currency) per delivery shipment
    delivery_fees: dict[str, int] = msgspec.field(default_factory=dict)
    version: int = 0
    #: not the policy's: the tenant's routing revision, read with it (one round trip for both),
    #: which the decision's index is then at least as recent as (`directory.index_for`)
    routing_revision: int | None = None


async def policy_of(tenant_id: str) -> Policy:
    rows = await db().fetch(
        "SELECT p.rules, p.ranked_location_ids, p.acceptance_deadline_minutes, p.take_rate_bps, p.quote_ttl_seconds, "
        "p.split_quantities, p.delivery_fees, p.version, "
        "(SELECT revision FROM routing_revisions WHERE tenant_id = ?) AS routing_revision "
        "FROM (SELECT 1 AS one) AS one LEFT JOIN routing_policies p ON p.tenant_id = ?",
        tenant_id,
        tenant_id,
    )
    row = rows[0]
    revision = int(row["routing_revision"] or 0)
    if row["version"] is None:  # no policy written: the defaults
        return Policy(routing_revision=revision)
    return Policy(
        rules=_decoded(row["rules"]) or list(core.DEFAULT_RULES),
        ranked_location_ids=_decoded(row["ranked_location_ids"]),
        acceptance_deadline_minutes=row["acceptance_deadline_minutes"],
        take_rate_bps=row["take_rate_bps"],
        quote_ttl_seconds=row["quote_ttl_seconds"],
        split_quantities=bool(row["split_quantities"]),
        delivery_fees=_decoded(row["delivery_fees"]),
        version=row["version"],
        routing_revision=revision,
    )


class Offered(msgspec.Struct, frozen=True):
    """A listing's price, which every candidate's offer must not exceed (no sale at a loss)."""

    amount: int
    currency: str


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _stock_sql() -> str:
    """Stock, cost, the supplier's scorecard and the location's load today, for a list of sites
    and skus, in one statement (its text the same whatever the lists' lengths).

    The levels are read first, by their (location, sku) index, and only then joined to the
    (few) offers, suppliers, scores and loads: left to itself PostgreSQL's planner started from
    the offers and walked every level of each offered sku in the tenant (every location's, and
    every dead version of the rows orders keep updating), a read that grew with the tenant and
    with each order placed (3,400 buffers for 48 levels at 3,000 orders, 1-2 ms; now ~100).
    SQLite, without statistics, would pick the (tenant, sku) index for the same read: the tenant
    term only filters (`filter_only_sql`)."""
    any_of = db().any_of_sql
    return (
        "WITH l AS MATERIALIZED (SELECT location_id, sku, supplier_id, "
        "on_hand - reserved - committed - safety_stock AS available FROM inventory_levels "
        f"WHERE {any_of('location_id')} AND {any_of('sku')} AND {db().filter_only_sql('tenant_id')} = ? "
        "AND on_hand - reserved - committed - safety_stock > 0) "
        "SELECT l.location_id, l.sku, l.available, o.wholesale_amount, o.min_retail_amount, o.currency, "
        "sc.finished, sc.perfect, ld.orders FROM l "
        "JOIN offers o ON o.tenant_id = ? AND o.supplier_id = l.supplier_id AND o.sku = l.sku "
        "JOIN suppliers s ON s.tenant_id = o.tenant_id AND s.id = l.supplier_id "
        "LEFT JOIN supplier_scores sc ON sc.tenant_id = o.tenant_id AND sc.id = l.supplier_id "
        "LEFT JOIN location_loads ld ON ld.tenant_id = o.tenant_id AND ld.location_id = l.location_id "
        f"AND {any_of('ld.id')} "
        "WHERE o.active = ? AND s.status = 'active'"
    )


def stock_statement(
    tenant_id: str, location_ids: Iterable[str], skus: Iterable[str], load_keys: Iterable[str]
) -> tuple[Any, ...]:
    """The stock read of one batch of sites as (SQL, *arguments): what `decide` sends, and what
    benchmarks/routing_decision.py asks SQLite to explain."""
    values = db().values_of
    return (_stock_sql(), values(location_ids), values(skus), tenant_id, tenant_id, values(load_keys), True)


async def _read(tenant_id: str, sites: Sequence[Site], prices: dict[str, Offered], now: datetime | None) -> facts.Facts:
    """The facts of the `sites` that may sell some of these skus at these prices: their stock
    and cost (supplier active, offer active, at or below the price), their suppliers'
    reliability and (unless `now` is None) their load on their local day of `now`, in one
    round trip."""
    stock: dict[str, dict[str, int]] = {}
    cost: dict[str, dict[str, int]] = {}
    reliability: dict[str, float] = {}
    loads: dict[str, int] = {}
    if not sites or not prices:
        return facts.Facts(stock=stock, cost=cost, reliability=reliability, loads=loads)
    supplier_of = {site.id: site.supplier_id for site in sites}
    load_keys = (
        []
        if now is None
        else [f"{site.id}:{local_day(site, now)}" for site in sites if site.daily_capacity is not None]
    )
    rows = await db().fetch(*stock_statement(tenant_id, supplier_of, prices, load_keys))
    for row in rows:
        if not _sellable(row, prices[row["sku"]]):
            continue
        location = row["location_id"]
        stock.setdefault(location, {})[row["sku"]] = row["available"]
        cost.setdefault(location, {})[row["sku"]] = row["wholesale_amount"]
        finished = row["finished"]
        reliability[supplier_of[location]] = (
            scores.reliability() if finished is None else scores.reliability(row["perfect"], finished)
        )
        if row["orders"] is not None:
            loads[location] = row["orders"]
    return facts.Facts(stock=stock, cost=cost, reliability=reliability, loads=loads)


async def stock_and_cost(
    tenant_id: str, sites: Sequence[Site], prices: dict[str, Offered]
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """(location -> sku -> available, location -> sku -> wholesale) for the skus a location may
    sell at the listing price: its supplier active, its offer active, at or below the price."""
    known = await _read(tenant_id, sites, prices, None)
    return known.stock, known.cost


async def _reliability(tenant_id: str, supplier_ids: Sequence[str]) -> dict[str, float]:
    rates: dict[str, float] = {}
    for chunk in _chunks(list(supplier_ids)):
        rows = await db().fetch(
            f"SELECT id, finished, perfect FROM supplier_scores WHERE tenant_id = ? AND id IN ({', '.join('?' for _ in chunk)})",
            tenant_id,
            *chunk,
        )
        for row in rows:
            rates[row["id"]] = scores.reliability(row["perfect"], row["finished"])
    return rates


def reliability_of(rates: dict[str, float], supplier_id: str) -> float:
    return rates.get(supplier_id, scores.reliability())


async def _loads(tenant_id: str, sites: Sequence[Site], now: datetime) -> dict[str, int]:
    """Fulfilment orders each capacity-limited site took on its local today."""
    keys = [f"{site.id}:{local_day(site, now)}" for site in sites if site.daily_capacity is not None]
    loads: dict[str, int] = {}
    for chunk in _chunks(keys):
        rows = await db().fetch(
            f"SELECT location_id, orders FROM location_loads WHERE tenant_id = ? AND id IN ({', '.join('?' for _ in chunk)})",
            tenant_id,
            *chunk,
        )
        loads.update((row["location_id"], row["orders"]) for row in rows)
    return loads


class Destination(msgspec.Struct, frozen=True):
    lat: float
    lng: float


async def reaching(
    tenant_id: str, destination: Destination, mode: str, pickup_point_id: str | None, excluded: set[str]
) -> list[tuple[Site, float]]:
    """Active locations that serve `destination` in `mode`, nearest first (the spatial index)."""
    index = await index_for(tenant_id)
    return [
        (site, distance)
        for site, distance in index.covering(destination.lat, destination.lng)
        if site.id not in excluded and facts.serves(site, mode, pickup_point_id)
    ]


async def sells(
    tenant_id: str,
    prices: dict[str, Offered],
    destination: Destination,
    mode: str,
    pickup_point_id: str | None = None,
) -> bool:
    """Whether some location serving `destination` belongs to an active supplier that sells any
    of these SKUs at the listing price, stock aside: tells a refusal's `no-location` (nobody
    here sells this) from its `out-of-stock` (they do, but not enough units now)."""
    sites = await reaching(tenant_id, destination, mode, pickup_point_id, set())
    return bool(await sold_by(tenant_id, prices, sorted({site.supplier_id for site, _ in sites}), first_only=True))


async def sold_by(
    tenant_id: str, prices: dict[str, Offered], supplier_ids: Sequence[str], *, first_only: bool = False
) -> set[str]:
    """The skus of `prices` some of these suppliers (active) offer at the listing price, stock
    aside (with `first_only`, stop at the first one found)."""
    found: set[str] = set()
    skus = list(prices)
    if not skus:
        return found
    for chunk in _chunks(list(supplier_ids)):
        rows = await db().fetch(
            "SELECT o.sku, o.wholesale_amount, o.min_retail_amount, o.currency FROM offers o "
            "JOIN suppliers s ON s.tenant_id = o.tenant_id AND s.id = o.supplier_id "
            f"WHERE o.tenant_id = ? AND o.active = ? AND s.status = 'active' AND o.sku IN ({', '.join('?' for _ in skus)}) "
            f"AND o.supplier_id IN ({', '.join('?' for _ in chunk)})",
            tenant_id,
            True,
            *skus,
            *chunk,
        )
        found.update(row["sku"] for row in rows if _sellable(row, prices[row["sku"]]))
        if found and first_only:
            break
    return found


def _sellable(offer: dict[str, Any], price: Offered) -> bool:
    """An offer a channel's price covers: same currency, wholesale and minimum retail at or below it."""
    if offer["currency"] != price.currency or offer["wholesale_amount"] > price.amount:
        return False
    return offer["min_retail_amount"] is None or offer["min_retail_amount"] <= price.amount


async def candidates(
    tenant_id: str,
    prices: dict[str, Offered],
    destination: Destination,
    mode: str,
    *,
    pickup_point_id: str | None = None,
    exclude: Iterable[str] = (),
    now: datetime | None = None,
) -> list[core.Candidate]:
    """Every location that may fill part of an order to `destination`, with its stock.

    Delivery: locations that deliver and reach the destination. Pickup at a pickup point:
    locations that deliver to the point, and the point itself when it stocks the goods.
    Pickup without a point: locations the consumer can collect from, within their radius.
    """
    now = now or utcnow()
    sites = await reaching(tenant_id, destination, mode, pickup_point_id, set(exclude))
    if not sites:
        return []
    known = await facts_for(tenant_id, [site for site, _ in sites], prices, now)
    return facts.assemble(sites, known, now, mode, pickup_point_id)


async def stocked_sites(tenant_id: str, skus: Sequence[str]) -> list[Site]:
    """The tenant's active locations holding available units of any of `skus` (whether they may
    sell them at a given price is for `facts_for`)."""
    index = await index_for(tenant_id)
    rows = await db().fetch(
        "SELECT DISTINCT location_id FROM inventory_levels WHERE tenant_id = ? "
        f"AND sku IN ({', '.join('?' for _ in skus)}) AND on_hand - reserved - committed - safety_stock > 0",
        tenant_id,
        *skus,
    )
    return [site for row in rows if (site := index.get(row["location_id"])) is not None]


async def facts_for(tenant_id: str, sites: Sequence[Site], prices: dict[str, Offered], now: datetime) -> facts.Facts:
    """Stock, wholesale cost, supplier reliability and today's load of the `sites` that may sell
    some of these SKUs at these prices (every filter of DESIGN §6 that needs the database)."""
    return await _read(tenant_id, sites, prices, now)


# -- one decision, reading no farther than it must ----------------------------------------------

#: the first ring around a destination whose sites are read, km; each next ring doubles
FIRST_RING_KM = 0.5
#: beyond this, one last ring takes everything else
LAST_RING_KM = 4096.0
#: serving sites gathered (ring after ring) before each stock read
BATCH = 24
#: the routing record names this many alternatives besides the chosen location
#: (`fulfilment.explain`): they too must be the nearest-read's and the full scan's alike
ALTERNATIVES = 3


class Decision(msgspec.Struct, kw_only=True):
    plan: core.Plan
    #: the candidates the plan chose among: the nearest, as many as the decision needed
    candidates: list[core.Candidate]
    #: sites serving the destination whose stock was read
    read: int
    #: stock statements it took
    reads: int


async def decide(
    tenant_id: str,
    lines: Sequence[core.Line],
    prices: dict[str, Offered],
    destination: Destination,
    mode: str,
    policy: Policy,
    *,
    pickup_point_id: str | None = None,
    exclude: Iterable[str] = (),
    now: datetime | None = None,
) -> Decision:
    """The routing decision for an order (`core.plan` with the tenant's policy), reading stock
    for the nearest sites first and farther rings only while the plan is not `settled`: the
    same shares, deciding rules and routing-record alternatives as a plan over every candidate
    (`candidates`), for a fraction of the reads in a dense city.

    Rings of the spatial index are gathered until `BATCH` serving sites wait, then the facts of
    the nearest `BATCH` are read in one statement and the plan is made over everything read so
    far with `Unseen` bounds on the rest: farther than the last site read, no faster than the index's fastest profile
    (kind and preparation) can promise from there, ranked no higher than the best ranked site
    still out there."""
    now = now or utcnow()
    index = await index_for(tenant_id, policy.routing_revision)
    excluded = set(exclude)
    rules = core.make_rules(policy.rules, policy.ranked_location_ids)
    travels = mode == "delivery"
    profiles = list(index.profiles())
    ranked = _ranked_reach(index, policy, destination, mode, pickup_point_id, excluded)
    unranked = len(set(policy.ranked_location_ids))
    found: list[core.Candidate] = []
    memo: StartMemo = {}
    pending: list[tuple[Site, float]] = []
    beyond, within = -1.0, FIRST_RING_KM
    read = reads = 0
    while True:
        while len(pending) < BATCH and beyond < math.inf:
            ring = index.covering(destination.lat, destination.lng, beyond_km=beyond, within_km=within)
            pending += [
                (site, d) for site, d in ring if site.id not in excluded and facts.serves(site, mode, pickup_point_id)
            ]
            beyond, within = within, (within * 2.0 if within < LAST_RING_KM else math.inf)
        batch, pending = nearest_batch(pending, BATCH)
        if batch:
            known = await _read(tenant_id, [site for site, _ in batch], prices, now)
            found += facts.assemble(batch, known, now, mode, pickup_point_id, memo)
            read, reads = read + len(batch), reads + 1
        # every site not read is farther than the last one read (the rest of the ring) or than the ring
        horizon = batch[-1][1] if pending else beyond
        unseen = None if horizon == math.inf else unseen_bounds(profiles, ranked, unranked, horizon, travels)
        decided = core.plan(lines, found, rules, split_quantities=policy.split_quantities, unseen=unseen)
        if decided.settled and (unseen is None or alternatives_settled(found, decided, unseen)):
            return Decision(plan=decided, candidates=found, read=read, reads=reads)


def nearest_batch(
    sites: list[tuple[Site, float]], size: int
) -> tuple[list[tuple[Site, float]], list[tuple[Site, float]]]:
    """The first `size` of `sites` (nearest first), with any others at the same distance as the
    last of them, and the rest: everything left is then strictly farther than what is read."""
    if len(sites) <= size:
        return sites, []
    last = sites[size - 1][1]
    end = size
    while end < len(sites) and sites[end][1] <= last:
        end += 1
    return sites[:end], sites[end:]


def _ranked_reach(
    index: LocationIndex,
    policy: Policy,
    destination: Destination,
    mode: str,
    pickup_point_id: str | None,
    excluded: set[str],
) -> list[tuple[float, int]]:
    """(distance, position) of the tenant's ranked locations that serve this destination, when
    its rules rank by them: the best position left beyond a ring bounds the unseen sites."""
    if "ranked_locations" not in policy.rules:
        return []
    found = []
    for position, location_id in enumerate(policy.ranked_location_ids):
        site = index.get(location_id)
        if site is None or location_id in excluded or not facts.serves(site, mode, pickup_point_id):
            continue
        d = distance_km(destination.lat, destination.lng, site.lat, site.lng)
        if d <= site.service_radius_km:
            found.append((d, position))
    return found


def alternatives_settled(found: Sequence[core.Candidate], decided: core.Plan, unseen: core.Unseen) -> bool:
    """Whether the alternatives the routing record names for each share (the best others by
    tier, distance and id: `fulfilment.explain`) are among those read: as many as it names
    plus the chosen ones rank before anything unseen can (same tier or worse, and farther)."""
    wanted = ALTERNATIVES + len(decided.shares)
    if len(found) < wanted:
        return False
    kth = heapq.nsmallest(wanted, ((TIERS.index(c.promise.tier), c.distance_km) for c in found))[-1]
    return kth < (unseen.tier, unseen.distance_km)


def unseen_bounds(
    profiles: Sequence[tuple[str, int]],
    ranked: Sequence[tuple[float, int]],
    unranked: int,
    beyond: float,
    travels: bool,
) -> core.Unseen:
    """What the sites farther than `beyond` km can be at best (`core.Unseen`). Every profile of
    the tenant counts, wherever its sites are: a bound, cheap and never too tight. `unranked`
    is the key `ranked_locations` gives a site off the list (a bound for those too)."""
    etas = [(soonest(kind, prep, beyond, travels=travels), kind) for kind, prep in profiles]
    return core.Unseen(
        distance_km=beyond,
        tier=min((TIERS.index(tier_of(kind, eta)) for eta, kind in etas), default=len(TIERS)),
        eta_minutes=min((eta for eta, _ in etas), default=0),
        rank=min((position for d, position in ranked if d > beyond), default=unranked),
    )


class Reach:
    """What can reach one point now, ranked the way routing would pick for one unit, for
    answering many products at once (the storefront) without planning an order per product.

    `open` computes, once per point: the sites serving it (the spatial index), each one's
    promise (opening hours, today's load) and its supplier's reliability, ranked by the
    tenant's rules (`core.rank_for_one_unit`). `best` then reads stock for the best-ranked
    sites in growing batches, only for the products still without a home, and stops as soon as
    each has one: in a dense city the first batch answers everything.

    When the tenant ranks by promise first (the default), the sites whose kind can promise
    `near` (stores, kitchens) are promised and ranked first; every other site ranks after
    them (a site's tier is never better than its kind's), so the others are promised only if
    some product finds no home among them. In a dense city by day that skips most of the work.
    """

    #: sites whose stock the first statement reads; each next batch is twice as large
    FIRST_BATCH = 32

    def __init__(
        self,
        tenant_id: str,
        ranked: list[core.Candidate],
        rest: Callable[[], list[core.Candidate]] | None,
        supplier_ids: list[str],
    ) -> None:
        self.tenant_id = tenant_id
        self.ranked = ranked
        self._rest = rest
        self.supplier_ids = supplier_ids

    @classmethod
    async def open(
        cls,
        tenant_id: str,
        destination: Destination,
        mode: str,
        *,
        pickup_point_id: str | None = None,
        policy: Policy | None = None,
        now: datetime | None = None,
    ) -> Reach:
        at = now or utcnow()
        policy = policy or await policy_of(tenant_id)
        sites = await reaching(tenant_id, destination, mode, pickup_point_id, set())
        loads = await _loads(tenant_id, [site for site, _ in sites], at)
        suppliers = sorted({site.supplier_id for site, _ in sites})
        rates = await _reliability(tenant_id, suppliers) if "reliability" in policy.rules else {}
        rules = core.make_rules(policy.rules, policy.ranked_location_ids)
        memo: StartMemo = {}

        def promised(chosen: list[tuple[Site, float]]) -> list[core.Candidate]:
            found = []
            for site, distance in chosen:
                travels = mode == "delivery" or (pickup_point_id is not None and site.id != pickup_point_id)
                made = promise(site, distance, at, travels=travels, taken_today=loads.get(site.id, 0), memo=memo)
                if made is not None:
                    reliability = reliability_of(rates, site.supplier_id)
                    found.append(
                        core.Candidate(site=site, distance_km=distance, promise=made, reliability=reliability, stock={})
                    )
            return found

        deciding = [name for name in policy.rules if name not in ("fewest_shipments", "lowest_cost")]
        if not deciding or deciding[0] != "fastest_promise":
            return cls(tenant_id, core.rank_for_one_unit(promised(sites), rules), None, suppliers)
        quick = promised([(site, d) for site, d in sites if KIND_TIERS.get(site.kind, "mid") == "near"])
        near = [c for c in quick if c.promise.tier == "near"]
        slower = [c for c in quick if c.promise.tier != "near"]

        def rest() -> list[core.Candidate]:
            others = [(site, d) for site, d in sites if KIND_TIERS.get(site.kind, "mid") != "near"]
            return core.rank_for_one_unit(slower + promised(others), rules)

        return cls(tenant_id, core.rank_for_one_unit(near, rules), rest, suppliers)

    def _extend(self) -> bool:
        """Rank the sites not ranked yet (all after those ranked); False when there are none."""
        if self._rest is None:
            return False
        self.ranked = self.ranked + self._rest()
        self._rest = None
        return True

    async def best(self, prices: dict[str, Offered]) -> dict[str, core.Candidate | None]:
        """sku -> the candidate one unit would ship from now; None for a sku some supplier
        here sells at the price but nobody has in stock; skus nobody here sells are left out."""
        remaining = dict(prices)
        chosen: dict[str, core.Candidate | None] = {}
        start, size = 0, self.FIRST_BATCH
        while remaining:
            if start >= len(self.ranked) and not self._extend():
                break
            batch = self.ranked[start : start + size]
            start, size = start + len(batch), size * 2
            if not batch:
                continue
            stock, cost = await stock_and_cost(self.tenant_id, [c.site for c in batch], remaining)
            for candidate in batch:
                held = stock.get(candidate.site.id)
                if not held:
                    continue
                for sku in [sku for sku in remaining if held.get(sku, 0) > 0]:
                    chosen[sku] = msgspec.structs.replace(candidate, stock=held, cost=cost[candidate.site.id])
                    del remaining[sku]
        if remaining:
            for sku in await sold_by(self.tenant_id, remaining, self.supplier_ids):
                chosen[sku] = None
        return chosen


# -- the policy as the operator writes it -------------------------------------------------------


async def policy_out(tenant_id: str) -> dict[str, Any]:
    current = await policy_of(tenant_id)
    rows = await db().fetch("SELECT updated_at FROM routing_policies WHERE tenant_id = ?", tenant_id)
    out = msgspec.structs.asdict(current)
    del out["routing_revision"]
    out["delivery_fees"] = {tier: current.delivery_fees.get(tier, 0) for tier in ("near", "mid", "far")}
    out["updated_at"] = rows[0]["updated_at"] if rows else None
    return out


async def put_policy(tenant_id: str, values: dict[str, Any], version: int | None) -> dict[str, Any]:
    """Replace the tenant's policy; `version` (when given) must be the one read, else 409."""
    if len(set(values["rules"])) != len(values["rules"]):
        raise ProblemError(
            409,
            "Each rule may appear once",
            slug="unusable-request",
            errors=[FieldError(field="rules", message="a rule appears twice")],
        )
    ranked = values["ranked_location_ids"]
    known: set[str] = set()
    for chunk in _chunks(sorted(set(ranked))):
        rows = await db().fetch(
            f"SELECT id FROM locations WHERE tenant_id = ? AND id IN ({', '.join('?' for _ in chunk)})",
            tenant_id,
            *chunk,
        )
        known.update(row["id"] for row in rows)
    missing = [index for index, location_id in enumerate(ranked) if location_id not in known]
    if missing:
        raise ProblemError(
            404,
            f"No such location: {ranked[missing[0]]}",
            slug="not-found",
            errors=[FieldError(field=f"ranked_location_ids[{i}]", message="no such location") for i in missing],
        )
    encoded = {
        **values,
        "rules": msgspec.json.encode(values["rules"]).decode(),
        "ranked_location_ids": msgspec.json.encode(values["ranked_location_ids"]).decode(),
        "delivery_fees": msgspec.json.encode(values["delivery_fees"]).decode(),
    }
    now = utcnow()
    async with db().transaction():
        current = await policy_of(tenant_id)
        if version is not None and version != current.version:
            raise conflict(
                f"the routing policy is at version {current.version}, not {version}: read it again",
                slug="version-conflict",
            )
        columns = list(encoded)
        await db().fetch(
            f"INSERT INTO routing_policies (tenant_id, {', '.join(columns)}, version, updated_at) "
            f"VALUES (?, {', '.join('?' for _ in columns)}, 1, ?) ON CONFLICT (tenant_id) DO UPDATE SET "
            + ", ".join(f"{column} = excluded.{column}" for column in columns)
            + ", version = routing_policies.version + 1, updated_at = excluded.updated_at",
            tenant_id,
            *encoded.values(),
            now,
        )
        await emit(tenant_id, "routing_policy.updated", {"rules": values["rules"]})
    return await policy_out(tenant_id)
