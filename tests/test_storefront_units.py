"""The storefront's pure parts against their definitions: the origin rule, the one-unit ranking
(the promise a product shows is the one `core.plan` gives a one-unit order) and `within`."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from channels.routing import core
from channels.routing.geo import distance_km
from channels.routing.index import LocationIndex
from channels.routing.promise import promise
from channels.routing.sites import Site
from channels.storefront.carts import address_bucket
from gateway.http.cors import is_origin, origin_allowed, preflight_acceptable

NOW = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)


def test_origins_match_exactly_and_wildcards_only_while_allowed() -> None:
    allowed = ["https://shop.example", "http://localhost:*"]
    assert origin_allowed("https://shop.example", allowed, False)
    assert not origin_allowed("https://shop.example:8443", allowed, False)
    assert not origin_allowed("http://shop.example", allowed, False)
    assert not origin_allowed("https://evil.shop.example", allowed, False)
    assert not origin_allowed(None, allowed, True)
    assert not origin_allowed("http://localhost:5173", allowed, False)
    assert origin_allowed("http://localhost:5173", allowed, True)
    assert origin_allowed("http://localhost", allowed, True)
    assert not origin_allowed("http://127.0.0.1:5173", allowed, True)  # only the wildcard named
    assert not origin_allowed("http://localhost.evil.example:5173", allowed, True)
    assert not origin_allowed("https://localhost:5173", allowed, True)
    for good in ("https://a.example", "http://127.0.0.1:8000", "https://[::1]:8443", "http://localhost:*"):
        assert is_origin(good), good
    for bad in (
        "https://a.example/",
        "https://A.example",
        "a.example",
        "https://a_b.example",
        "https://%.example",
        "*",
    ):
        assert not is_origin(bad), bad


def test_preflights_ask_for_what_a_key_may_send() -> None:
    methods = frozenset({"GET", "POST"})
    assert preflight_acceptable(methods, "post", "Authorization, Content-Type, Idempotency-Key")
    assert not preflight_acceptable(methods, "DELETE", "authorization")
    assert not preflight_acceptable(methods, "GET", "authorization, cookie")


def test_ipv6_addresses_count_by_their_64() -> None:
    assert address_bucket("2001:db8:1:2::1") == address_bucket("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert address_bucket("2001:db8:1:3::1") != address_bucket("2001:db8:1:2::1")
    assert address_bucket("::ffff:203.0.113.7") == address_bucket("203.0.113.7") == "203.0.113.7"
    assert address_bucket(None) == "unknown"


KINDS = ("store", "store", "kitchen", "forward_warehouse", "central_warehouse")
HOURS = {day: [["08:00", "22:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def _sites(seed: int, count: int) -> list[tuple[Site, float]]:
    rng = random.Random(seed)
    sites = []
    for n in range(count):
        kind = rng.choice(KINDS)
        site = Site(
            id=f"loc_{n:04d}",
            supplier_id=f"sup_{rng.randint(0, 5)}",
            kind=kind,
            lat=30.2 + rng.random() * 0.1,
            lng=120.1 + rng.random() * 0.1,
            service_radius_km=50.0,
            modes=("delivery",),
            prep_minutes=rng.choice((5, 15, 30)),
            opening_hours=HOURS if rng.random() < 0.5 else {},
            timezone="Asia/Shanghai",
        )
        sites.append((site, distance_km(30.25, 120.15, site.lat, site.lng)))
    return sites


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 40), st.sampled_from([core.DEFAULT_RULES, ("earliest_eta", "nearest")]))
def test_the_first_ranked_site_stocking_a_sku_is_where_plan_ships_one_unit(
    seed: int, count: int, rules: tuple[str, ...]
) -> None:
    rng = random.Random(seed)
    made = []
    for site, distance in _sites(seed, count):
        stock = {sku: rng.randint(1, 3) for sku in ("A", "B", "C") if rng.random() < 0.4}
        made.append(
            core.Candidate(
                site=site,
                distance_km=distance,
                promise=promise(site, distance, NOW),  # type: ignore[arg-type]
                reliability=rng.choice((0.8, 0.9, 1.0)),
                stock=stock,
            )
        )
    keys = core.make_rules(rules)
    ranked = core.rank_for_one_unit(made, keys)
    for sku in ("A", "B", "C"):
        first = next((c for c in ranked if c.stock.get(sku, 0) > 0), None)
        planned = core.plan([core.Line(sku, 1)], made, keys)
        if first is None:
            assert planned.unfilled
        else:
            assert planned.shares[0].candidate.site.id == first.site.id


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.1, 30.0))
def test_within_finds_exactly_the_sites_near_a_point(seed: int, km: float) -> None:
    rng = random.Random(seed)
    index = LocationIndex()
    sites = []
    for n in range(200):
        site = Site(
            id=f"loc_{n:04d}",
            supplier_id="sup",
            kind="pickup_point",
            lat=30.0 + rng.random() * 0.6,
            lng=120.0 + rng.random() * 0.6,
            service_radius_km=rng.choice((0.0, 1.0, 8.0, 60.0, 400.0, 3000.0)),
            modes=("pickup",),
            prep_minutes=0,
            opening_hours={},
            timezone="UTC",
        )
        index.upsert(site)
        sites.append(site)
    lat, lng = 30.3, 120.3
    expected = sorted(
        (distance_km(lat, lng, s.lat, s.lng), s.id) for s in sites if distance_km(lat, lng, s.lat, s.lng) <= km
    )
    assert [(d, s.id) for s, d in index.within(lat, lng, km)] == expected


def test_storefront_settings_from_the_environment() -> None:
    from gateway.settings import Settings

    read = Settings.from_env(
        {"GATEWAY_STOREFRONT_ALLOW_LOCALHOST": "1", "GATEWAY_STOREFRONT_MAX_OPEN_CARTS_PER_ADDRESS": "2"}
    )
    assert read.storefront_allow_localhost is True and read.storefront_max_open_carts_per_address == 2
    assert Settings.from_env({"GATEWAY_STOREFRONT_ALLOW_LOCALHOST": "0"}).storefront_allow_localhost is False
    assert Settings.from_env({}).storefront_allow_localhost is False
