"""Time in one place, so it is always UTC and always aware.

`travel` lets a block of code run as if it were another time (the demo back-fills a week of
orders; tests spread histories over days). It shifts this task's clock only (a context
variable), never the process's: requests served meanwhile see the real time.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta

_shift: ContextVar[timedelta] = ContextVar("gateway_clock_shift", default=timedelta(0))


def utcnow() -> datetime:
    return datetime.now(UTC) + _shift.get()


@contextmanager
def travel(to: datetime) -> Iterator[None]:
    """Run the block with `utcnow()` starting at `to` (and moving on from there)."""
    token = _shift.set(to - datetime.now(UTC))
    try:
        yield
    finally:
        _shift.reset(token)
