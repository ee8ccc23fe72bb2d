"""When to try a failed delivery again, pure.

The default schedule waits 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h after
successive failures: ten attempts over 75.6 hours (Stripe retries for 3 days; DESIGN §8 asks
for at least 72 h). Jitter only ever lengthens a wait (up to a fifth), so that a receiver coming
back is not hit by every delivery at once and the schedule never gets shorter than it says.
A `Retry-After` (seconds or an HTTP date) from a 429 or 503 is honoured: the next attempt is
never earlier than the receiver asked, up to a day.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from datetime import datetime
from email.utils import parsedate_to_datetime

DEFAULT_SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
JITTER = 0.2
#: the longest wait a Retry-After can ask for
MAX_RETRY_AFTER = 86400.0
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")


def parse(text: str) -> tuple[float, ...]:
    """`"5s,5m,30m,2h"` → seconds; a bare number is seconds. Raises ValueError when malformed."""
    delays: list[float] = []
    for part in text.split(","):
        match = _DURATION.match(part)
        if not match:
            raise ValueError(f"not a duration: {part!r} (e.g. 5s, 5m, 2h, 1d)")
        delays.append(float(match.group(1)) * _UNITS[match.group(2) or "s"])
    if not delays:
        raise ValueError("a retry schedule needs at least one delay")
    return tuple(delays)


def total(schedule: Sequence[float]) -> float:
    """The shortest time from the first attempt to the dead letter."""
    return float(sum(schedule))


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds asked for by a `Retry-After` header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return min(max((when - now).total_seconds(), 0.0), MAX_RETRY_AFTER)


def next_delay(
    failures: int,
    schedule: Sequence[float],
    asked: float | None = None,
    rand: random.Random | None = None,
) -> float | None:
    """Seconds until the next attempt after the `failures`-th failed attempt in a row (1-based),
    or None when the schedule is spent and the delivery is dead-lettered."""
    if failures < 1 or failures > len(schedule):
        return None
    base = schedule[failures - 1]
    delay = base * (1 + JITTER * (rand or random).random())
    return max(delay, asked or 0.0)
