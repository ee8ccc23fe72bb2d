"""What background work exists: jobs that domains register at import, by name."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from gateway.settings import Settings

#: seconds between ticks, fixed or read from the settings
Interval = float | Callable[[Settings], float]
#: one round of work, given the settings; returns how many items it handled (or None)
Tick = Callable[[Settings], Awaitable[int | None]]
Scope = Literal["cluster", "process"]


@dataclass(frozen=True)
class Job:
    """A periodic job.

    `tick` does one round of work and returns how many items it handled (or None).
    `scope="cluster"`: one tick per interval across every process sharing the database: the
    process holding the job's lease runs it and renews the lease; the others check every half
    lease whether it lapsed. `scope="process"`: every process ticks and the tick shares its rows
    out with `claim_due`/`lock_due`.
    `lease_seconds`: how long the leader's lease lasts without a renewal, so how soon another
    process takes over from one that died (default: three intervals, at least ten seconds). A
    tick should take less than that.
    """

    name: str
    every: Interval
    tick: Tick
    scope: Scope = "cluster"
    lease_seconds: float | None = None

    def interval(self, settings: Settings) -> float:
        return float(self.every(settings) if callable(self.every) else self.every)

    def lease(self, settings: Settings) -> float:
        return self.lease_seconds if self.lease_seconds is not None else max(10.0, 3 * self.interval(settings))


_JOBS: dict[str, Job] = {}


def register(
    name: str, every: Interval, tick: Tick, *, scope: Scope = "cluster", lease_seconds: float | None = None
) -> Job:
    """Add a job (or replace the one of that name: a module imported twice registers once)."""
    job = Job(name=name, every=every, tick=tick, scope=scope, lease_seconds=lease_seconds)
    _JOBS[name] = job
    return job


def job(
    name: str, every: Interval, *, scope: Scope = "cluster", lease_seconds: float | None = None
) -> Callable[[Tick], Tick]:
    """Decorator form of `register`."""

    def decorate(tick: Tick) -> Tick:
        register(name, every, tick, scope=scope, lease_seconds=lease_seconds)
        return tick

    return decorate


def registered() -> list[Job]:
    return list(_JOBS.values())


def unregister(name: str) -> None:
    _JOBS.pop(name, None)
