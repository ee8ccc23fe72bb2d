"""The loops that run the registered jobs in one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time

from gateway import metrics
from gateway.background import claims
from gateway.background.registry import Job, registered
from gateway.settings import Settings
from gateway.storage import process_id

log = logging.getLogger("gateway.background")


class BackgroundRunner:
    """One loop per job. `start()` after the database is bound; `stop()` before it closes: it
    lets a running tick finish (up to `grace_seconds`, then cancels it) and ends the loops."""

    def __init__(self, settings: Settings, jobs: list[Job] | None = None, holder: str | None = None) -> None:
        self.settings = settings
        self.jobs = registered() if jobs is None else jobs
        #: host:pid, plus a suffix when several runners share a process (tests, benchmarks)
        self.holder = holder or process_id()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        #: cluster jobs whose lease this process holds
        self._leading: set[str] = set()

    async def start(self) -> None:
        self._stopping.clear()
        cluster = [job.name for job in self.jobs if job.scope == "cluster"]
        try:
            await claims.ensure_lease_rows(cluster)
        except Exception:  # the loops retry; a database that is down now must not stop serving
            log.warning("background: could not prepare the job leases", exc_info=True)
        self._tasks = [asyncio.create_task(self._loop(job), name=f"background:{job.name}") for job in self.jobs]

    async def stop(self, grace_seconds: float = 10.0) -> None:
        self._stopping.set()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=grace_seconds)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            self._tasks = []
        for name in sorted(self._leading):  # another process takes over at its next try
            with contextlib.suppress(Exception):
                await claims.give_up(name, self.holder)
        self._leading.clear()

    async def _loop(self, job: Job) -> None:
        interval = job.interval(self.settings)
        # start at a random point of the first interval: processes started together spread out
        delay = random.uniform(0, interval)  # noqa: S311 - jitter, not secrecy
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=delay)
            if self._stopping.is_set():
                return
            await self.run_once(job)
            # the leader comes back each interval (never early: it would find the tick not due);
            # the others only check, every half lease, whether the leader is gone
            wait = (
                interval
                if job.scope == "process" or job.name in self._leading
                else max(interval, job.lease(self.settings) / 2)
            )
            delay = wait * random.uniform(1.0, 1.1)  # noqa: S311

    async def run_once(self, job: Job) -> bool:
        """One tick of `job` if it is this process's turn; True when it ran here."""
        interval = job.interval(self.settings)
        if job.scope == "cluster":
            try:
                mine = await claims.take_turn(job.name, interval, job.lease(self.settings), self.holder)
            except Exception:
                log.warning("background: %s: could not take its turn", job.name, exc_info=True)
                metrics.observe_tick(job.name, "failed", 0.0, 0)
                return False
            if not mine:
                self._leading.discard(job.name)
                metrics.observe_tick(job.name, "skipped", 0.0, 0)
                return False
            self._leading.add(job.name)
        started = time.perf_counter()
        items, error = 0, ""
        try:
            items = int(await job.tick(self.settings) or 0)
        except Exception as failure:  # retried at the next tick
            error = f"{type(failure).__name__}: {failure}"
            log.warning("background: %s failed", job.name, exc_info=True)
        elapsed = time.perf_counter() - started
        metrics.observe_tick(job.name, "failed" if error else "ran", elapsed, items)
        if job.scope == "cluster" and (items or error):
            try:
                await claims.end_turn(job.name, items, error, self.holder)
            except Exception:
                log.warning("background: %s: could not record its tick", job.name, exc_info=True)
        return True
