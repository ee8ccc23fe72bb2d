"""Time in one place, so it is always UTC and always aware."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
