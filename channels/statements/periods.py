"""A period of UTC days, as statements and insight take it: `?from=&to=` (inclusive dates).

Shared by both areas' controllers, so neither imports the other's."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from litestar.params import QueryParameter

from gateway.clock import utcnow
from gateway.http.problems import FieldError, ProblemError

#: the longest period one request may cover
MAX_DAYS = 366

From = Annotated[
    date | None, QueryParameter(name="from", description="First UTC day of the period (default: 29 days before `to`).")
]
To = Annotated[date | None, QueryParameter(name="to", description="Last UTC day of the period (default: today).")]


def unusable(field: str, message: str) -> ProblemError:
    """A query the schema allows but that cannot mean anything (a period backwards, or too long
    to read in one request): a 409 naming the parameter, like the orders' `unusable-request`."""
    return ProblemError(
        409,
        f"{field}: {message}",
        slug="unusable-request",
        errors=[FieldError(field=field, message=message, location="query")],
    )


def _shift(day: date, days: int) -> date:
    """`day` moved by `days`, held inside the calendar (year 1 to 9999)."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.min if days < 0 else date.max


def period(first: date | None, last: date | None) -> tuple[date, date]:
    """`from`..`to` inclusive; by default the 30 days up to today (UTC)."""
    today = utcnow().date()
    last = last or (today if first is None else min(today, _shift(first, 29)))
    first = first or _shift(last, -29)
    if first > last:
        raise unusable("from", "must not be after `to`")
    if (last - first).days + 1 > MAX_DAYS:
        raise unusable("from", f"a period covers at most {MAX_DAYS} days")
    return first, last
