"""Delivery promises: when a location can have an order at the door (or on the pickup shelf).

Pure. A promise starts when the location can start work: now if it is open and has
capacity left today, else its next opening (a closed store promises its next opening; a store
that has taken its daily capacity promises tomorrow's). Then preparation, then travel at a
speed that depends on how the location ships. The tier (DESIGN §6) is the slower of what the
location's kind serves at best and what the minutes say: a store that only opens tomorrow is
not "near" tonight.
"""

from __future__ import annotations

import math
import zoneinfo
from datetime import UTC, datetime, timedelta, tzinfo
from functools import cache

import msgspec

from channels.routing.sites import KIND_TIERS, Site

TIERS = ("near", "mid", "far")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

#: how an order leaves a location of each kind: (fixed dispatch minutes, km/h on the road)
DISPATCH: dict[str, tuple[int, float]] = {
    "store": (10, 20.0),  # a courier on a scooter
    "kitchen": (10, 20.0),
    "pickup_point": (10, 20.0),
    "forward_warehouse": (60, 30.0),  # the next van wave
    "central_warehouse": (12 * 60, 60.0),  # line haul, next day
}
#: minutes up to which a promise is near, then mid; beyond is far
NEAR_MINUTES = 180
MID_MINUTES = 24 * 60


class Promise(msgspec.Struct, frozen=True):
    tier: str
    eta_minutes: int
    promised_at: datetime
    #: when the location can start work: now, or its next opening
    starts_at: datetime


@cache
def _zone(name: str) -> tzinfo:
    return UTC if name == "UTC" else zoneinfo.ZoneInfo(name)


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _intervals(hours: dict[str, list[list[str]]], zone: tzinfo, around: datetime) -> list[tuple[datetime, datetime]]:
    """Opening intervals in UTC from the day before `around` to a week after it."""
    local = around.astimezone(zone)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    spans = []
    for offset in range(-1, 8):
        day = midnight + timedelta(days=offset)
        for opens_at, closes_at in hours.get(DAYS[day.weekday()], ()):
            opens, closes = _minutes(opens_at), _minutes(closes_at)
            length = closes - opens if closes > opens else closes + 24 * 60 - opens  # past midnight
            start = (day + timedelta(minutes=opens)).replace(tzinfo=zone)
            spans.append((start.astimezone(UTC), (start + timedelta(minutes=length)).astimezone(UTC)))
    return spans


def next_open(hours: dict[str, list[list[str]]], timezone: str, at: datetime) -> datetime | None:
    """`at` if the location is open then, else its next opening within a week; None if it never opens."""
    if not any(hours.get(day) for day in DAYS):
        return at  # no hours given: always open
    spans = _intervals(hours, _zone(timezone), at)
    if any(start <= at < end for start, end in spans):
        return at
    later = [start for start, _ in spans if start > at]
    return min(later) if later else None


def _next_day_opening(hours: dict[str, list[list[str]]], timezone: str, at: datetime) -> datetime | None:
    """The first opening on a later local day than `at` (the day's capacity is used up)."""
    zone = _zone(timezone)
    tomorrow = (at.astimezone(zone) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return next_open(hours, timezone, tomorrow.astimezone(UTC))


def tier_of(kind: str, eta_minutes: int) -> str:
    by_minutes = "near" if eta_minutes <= NEAR_MINUTES else "mid" if eta_minutes <= MID_MINUTES else "far"
    return max(KIND_TIERS.get(kind, "mid"), by_minutes, key=TIERS.index)


def local_day(site: Site, at: datetime) -> str:
    """The location's local calendar day, which its daily capacity counts against."""
    return at.astimezone(_zone(site.timezone)).date().isoformat()


#: (timetable identity, time zone, day full) -> when work can start; one per decision
StartMemo = dict[tuple[int, str, bool], datetime | None]


def promise(
    site: Site,
    distance_km: float,
    now: datetime,
    *,
    travels: bool = True,
    taken_today: int = 0,
    memo: StartMemo | None = None,
) -> Promise | None:
    """The promise `site` can make for a destination `distance_km` away; None when it will not
    open within a week. `travels=False` for a pickup at the location itself.

    Working out the next opening is most of a promise's cost, and sites share timetables (the
    directory interns them), so one decision passes a `memo` for all its candidates: same
    `now`, same timetable object, same answer."""
    full = site.daily_capacity is not None and taken_today >= site.daily_capacity
    key = (id(site.opening_hours), site.timezone, full)
    if memo is not None and key in memo:
        start = memo[key]
    else:
        start = (
            _next_day_opening(site.opening_hours, site.timezone, now)
            if full
            else next_open(site.opening_hours, site.timezone, now)
        )
        if memo is not None:
            memo[key] = start
    if start is None:
        return None
    dispatch, speed = DISPATCH.get(site.kind, (60, 30.0))
    minutes = float(site.prep_minutes)
    if travels:
        minutes += dispatch + distance_km / speed * 60
    ready = start + timedelta(minutes=minutes)
    eta = max(0, math.ceil((ready - now).total_seconds() / 60))
    return Promise(tier=tier_of(site.kind, eta), eta_minutes=eta, promised_at=ready, starts_at=start)


def soonest(kind: str, prep_minutes: int, distance_km: float, *, travels: bool = True) -> int:
    """A lower bound on the minutes any site of this kind and preparation can promise at
    `distance_km` or farther: work starts now at the earliest, and the ETA is whole minutes
    of at least the preparation and the journey (less one for the rounding of the clock)."""
    minutes = float(prep_minutes)
    if travels:
        dispatch, speed = DISPATCH.get(kind, (60, 30.0))
        minutes += dispatch + distance_km / speed * 60
    return max(0, math.floor(minutes) - 1)
