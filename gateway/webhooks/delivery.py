"""The delivery worker: claim due deliveries, POST them signed, record what happened.

Any number of processes run it against one database. A claim (one short transaction) picks
due deliveries with `SKIP LOCKED` on PostgreSQL (SQLite's write lock makes the claimer the only
writer), stamps them with a claim token and pushes their `next_attempt_at` out by a lease
longer than any attempt can take: while one process sends a delivery no other can claim it,
and if that process dies the delivery is simply due again when the lease ends. Each outcome is
written only where the claim is still the one that sent it.

A process keeps at most `concurrency` attempts in flight, at most `endpoint_concurrency` per
endpoint (see `Worker`); claims look past endpoints that are full at every poll, so one slow
receiver with a backlog cannot hold up the rest. Outcomes are written in batches (one
transaction for many attempts). Pure decisions live in
`decide` (what an answer means) and `pick` (which due deliveries to take).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import msgspec

from gateway.clock import utcnow
from gateway.events.services import to_event
from gateway.ids import new_id
from gateway.storage import db
from gateway.webhooks import metrics, schedule, services
from gateway.webhooks.config import WebhookConfig
from gateway.webhooks.fanout import BATCH, fan_out
from gateway.webhooks.sender import Answer, post, signing_keys
from gateway.webhooks.ssrf import guarded_client

log = logging.getLogger("gateway.webhooks")
_encoder = msgspec.json.Encoder()


@dataclass(frozen=True)
class Job:
    """A claimed delivery with what it takes to send it."""

    delivery_id: str
    claim: str
    tenant_id: str
    endpoint_id: str
    endpoint_enabled: bool
    url: str
    keys: tuple[bytes, ...]
    event_id: str
    event_created_at: datetime
    body: bytes
    failures: int


@dataclass(frozen=True)
class Decision:
    outcome: str  # succeeded | failed | gone | refused
    status: str  # the delivery's next status: pending | succeeded | dead
    failures: int
    next_attempt_at: datetime | None


@dataclass
class Result:
    job: Job
    answer: Answer
    decision: Decision
    at: datetime
    delivered: datetime = field(default_factory=utcnow)


def decide(answer: Answer, failures: int, plan: Sequence[float], now: datetime, asked: float | None = None) -> Decision:
    """What an answer means for the delivery, pure: any 2xx succeeds; 410 Gone dead-letters it
    (and disables the endpoint); anything else is a failure retried on the schedule (honouring
    `asked`, the seconds of a 429/503's Retry-After) until the schedule is spent."""
    code = answer.status_code
    if code is not None and 200 <= code < 300:
        return Decision("succeeded", "succeeded", 0, None)
    if code == 410:
        return Decision("gone", "dead", failures + 1, None)
    outcome = "refused" if answer.refused else "failed"
    delay = schedule.next_delay(failures + 1, plan, asked if code in (429, 503) else None)
    if delay is None:
        return Decision(outcome, "dead", failures + 1, None)
    return Decision(outcome, "pending", failures + 1, now + timedelta(seconds=delay))


def pick(due: Sequence[dict[str, Any]], busy: dict[str, int], per_endpoint: int, limit: int) -> list[str]:
    """Which due deliveries (oldest first) to claim: at most `limit`, and no endpoint beyond
    `per_endpoint` counting those already in flight (`busy`), pure."""
    taken = dict(busy)
    chosen: list[str] = []
    for row in due:
        if len(chosen) >= limit:
            break
        count = taken.get(row["endpoint_id"], 0)
        if count < per_endpoint:
            taken[row["endpoint_id"]] = count + 1
            chosen.append(row["id"])
    return chosen


# -- claiming ---------------------------------------------------------------------------------


async def claim(
    config: WebhookConfig,
    limit: int,
    busy: dict[str, int],
    per_endpoint: int | None = None,
    skip_full: bool = True,
) -> list[Job]:
    """Claim up to `limit` due deliveries for this process, oldest first, at most `per_endpoint`
    per endpoint counting those `busy` shows this process holds already. With `skip_full` the
    query passes over endpoints at their share (so one backlogged receiver cannot hide the
    others, at the price of scanning its backlog); without, it reads a short window of the
    oldest due deliveries and takes what fits."""
    database = db()
    now = utcnow()
    token = secrets.token_hex(8)
    share = per_endpoint or config.endpoint_concurrency
    full = [endpoint for endpoint, count in busy.items() if count >= share] if skip_full else []
    sql = "SELECT id, endpoint_id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ?"
    if full:
        sql += f" AND endpoint_id NOT IN ({', '.join('?' for _ in full)})"
    sql += f" ORDER BY next_attempt_at LIMIT ?{database.skip_locked_sql}"
    # a look without the write lock first: an idle worker takes no lock at each poll
    if not await database.fetch(
        "SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ? LIMIT 1", now
    ):
        return []
    async with database.transaction():
        # a window a little larger than what fits: enough to pass over a few full endpoints
        due = await database.fetch(sql, now, *full, limit + 2 * share)
        chosen = pick(due, busy, share, limit)
        if not chosen:
            return []
        await database.fetch(
            # this claim's attempt is the one a redelivery asked for: nothing is owed after it
            f"UPDATE webhook_deliveries SET claim = ?, next_attempt_at = ?, requeued = ? "
            f"WHERE id IN ({', '.join('?' for _ in chosen)})",
            token,
            now + timedelta(seconds=config.lease),
            False,
            *chosen,
        )
    rows = await database.fetch(
        "SELECT d.id, d.tenant_id, d.endpoint_id, d.event_id, d.failures, e.url, e.status AS endpoint_status, "
        "e.secret, e.previous_secret, e.previous_secret_expires_at, v.type, v.data, v.created_at "
        "FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id "
        "JOIN events v ON v.id = d.event_id WHERE d.claim = ?",
        token,
    )
    jobs = []
    for row in rows:
        event = to_event(
            {"id": row["event_id"], "type": row["type"], "data": row["data"], "created_at": row["created_at"]}
        )
        jobs.append(
            Job(
                delivery_id=row["id"],
                claim=token,
                tenant_id=row["tenant_id"],
                endpoint_id=row["endpoint_id"],
                endpoint_enabled=row["endpoint_status"] == "enabled",
                url=row["url"],
                keys=signing_keys(row, now),
                event_id=row["event_id"],
                event_created_at=event.created_at,
                body=_encoder.encode(event),
                failures=row["failures"],
            )
        )
    return jobs


# -- sending ----------------------------------------------------------------------------------


async def attempt(client: httpx.AsyncClient, config: WebhookConfig, job: Job) -> Result:
    at = utcnow()
    if not job.endpoint_enabled:  # disabled after the claim was made: nothing is sent
        answer = Answer(error="endpoint disabled")
        return Result(job, answer, Decision("refused", "dead", job.failures, None), at)
    try:
        answer = await post(client, job.url, job.event_id, job.body, job.keys, config.timeout)
    except Exception as error:  # a bug here must not leave the delivery claimed, unrecorded
        log.warning("webhook attempt failed unexpectedly", exc_info=True)
        answer = Answer(error=f"{type(error).__name__}: {error}"[:500])
    now = utcnow()
    decision = decide(answer, job.failures, config.schedule, now, schedule.retry_after(answer.retry_after, now))
    return Result(job, answer, decision, at, now)


# -- recording --------------------------------------------------------------------------------


async def record(results: Sequence[Result], config: WebhookConfig) -> None:
    """Write a batch of outcomes in one transaction: an attempt row each, the delivery's new
    state (only where this claim still holds it), and what they mean for their endpoints."""
    if not results:
        return
    database = db()
    now = utcnow()
    results = sorted(results, key=lambda r: r.job.delivery_id)  # rows in id order: see lock_deliveries
    async with database.transaction():
        sent = [r for r in results if r.job.endpoint_enabled]
        await database.execute_many(
            "INSERT INTO webhook_attempts (id, tenant_id, endpoint_id, delivery_id, event_id, outcome, status_code, "
            "latency_ms, response_excerpt, error, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    new_id("wha"),
                    r.job.tenant_id,
                    r.job.endpoint_id,
                    r.job.delivery_id,
                    r.job.event_id,
                    r.decision.outcome,
                    r.answer.status_code,
                    r.answer.latency_ms,
                    r.answer.excerpt,
                    r.answer.error,
                    r.at,
                )
                for r in sent
            ],
        )
        # a delivery redelivered while this attempt ran (`requeued`) is due again now, from the
        # start of its schedule, whatever this attempt's outcome
        await database.execute_many(
            "UPDATE webhook_deliveries SET attempts = attempts + ?, claim = NULL, "
            "status = CASE WHEN requeued THEN 'pending' ELSE ? END, "
            "failures = CASE WHEN requeued THEN 0 ELSE ? END, "
            "next_attempt_at = CASE WHEN requeued THEN ? ELSE COALESCE(?, next_attempt_at) END, "
            # (a claimed delivery is pending, its finished_at NULL: COALESCE only types the parameter)
            "finished_at = CASE WHEN requeued THEN NULL ELSE COALESCE(?, finished_at) END, requeued = ?, "
            "last_attempt_at = COALESCE(?, last_attempt_at), last_status_code = COALESCE(?, last_status_code), "
            "last_error = ?, updated_at = ? WHERE id = ? AND claim = ?",
            [
                (
                    1 if r.job.endpoint_enabled else 0,
                    r.decision.status,
                    r.decision.failures,
                    now,
                    r.decision.next_attempt_at,
                    None if r.decision.status == "pending" else now,
                    False,
                    r.at if r.job.endpoint_enabled else None,
                    r.answer.status_code,
                    r.answer.error,
                    now,
                    r.job.delivery_id,
                    r.job.claim,
                )
                for r in results
            ],
        )
        await services.after_attempts(
            [(r.job.tenant_id, r.job.endpoint_id, r.decision.outcome, r.decision.status) for r in sent], config, now
        )
    for r in sent:
        metrics.observe(r.decision.outcome, r.decision.status, (r.delivered - r.job.event_created_at).total_seconds())


# -- the loop ---------------------------------------------------------------------------------


class Worker:
    """One process's delivery loop: fan out, claim what it has room for, send, record.

    Each endpoint may have `endpoint_concurrency` attempts in flight and as many again claimed
    and waiting their turn here, so that as one attempt ends the next starts without a round
    trip to the database; claims, fan-outs and records are then batches, not one per delivery.
    A waiting delivery starts within one attempt's time, well inside its lease.

    `drain()` works until nothing is left to do right now (the background job calls it at every
    tick); the HTTP client and its kept-alive connections live on between ticks."""

    #: the loop's pace while attempts are in flight: outcomes and free room gather meanwhile
    PACE = 0.002
    #: how often a busy worker looks for new events (an idle one: every poll)
    FAN_OUT_EVERY = 0.02

    def __init__(self, config: WebhookConfig) -> None:
        self.config = config
        #: claimed and not yet recorded, per endpoint (in flight or waiting for a turn)
        self.busy: dict[str, int] = {}
        self.turns: dict[str, asyncio.Semaphore] = {}
        self.in_flight: set[asyncio.Task[None]] = set()
        self.results: list[Result] = []
        self.wake = asyncio.Event()
        self._client: httpx.AsyncClient | None = None
        self._fanned_at = 0.0
        self._looked_past_at = 0.0

    @property
    def capacity(self) -> int:
        return 2 * self.config.concurrency

    async def drain(self) -> int:
        """Deliver until there is nothing due and nothing in flight; the attempts made. Cancelled
        (shutdown), it abandons the attempts in flight: their claims lapse and another worker
        sends them again (at least once)."""
        if self._client is None:
            self._client = guarded_client(
                self.config.allow_insecure, httpx.Timeout(self.config.timeout), self.config.concurrency
            )
        made = 0
        try:
            while True:
                self.wake.clear()
                more, started = await self.step()
                made += started
                if self.results:
                    await self.flush()
                    more = True
                if not self.in_flight and not more:
                    return made
                if self.in_flight:
                    await asyncio.sleep(self.PACE)
                if not more:
                    try:
                        async with asyncio.timeout(self.config.poll):
                            await self.wake.wait()
                    except TimeoutError:
                        pass
        except asyncio.CancelledError:
            for task in list(self.in_flight):
                task.cancel()
            if self.results:  # outcomes already known: record them rather than send them again
                batch, self.results = self.results, []
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(2):
                        await record(batch, self.config)
            client, self._client = self._client, None
            await client.aclose()
            raise

    async def step(self) -> tuple[bool, int]:
        """One round: (whether there may be more to do at once, attempts started)."""
        read = 0
        loop = asyncio.get_running_loop()
        if loop.time() - self._fanned_at >= self.FAN_OUT_EVERY or not self.in_flight:
            try:
                read = await fan_out()
                self._fanned_at = 0.0 if read >= BATCH else loop.time()
            except Exception:
                log.warning("webhook fan-out failed", exc_info=True)
        room = self.capacity - len(self.in_flight)
        jobs: list[Job] = []
        # claim when an endpoint has used up half of what it holds (so claims come in batches,
        # not one per finished attempt), and now and then look past the endpoints that are full
        hungry = not self.busy or any(count <= self.config.endpoint_concurrency for count in self.busy.values())
        look_past = loop.time() - self._looked_past_at >= self.config.poll
        if room > 0 and (hungry or look_past):
            try:
                jobs = await claim(
                    self.config, room, self.busy, 2 * self.config.endpoint_concurrency, skip_full=look_past
                )
                if look_past:
                    self._looked_past_at = loop.time()
            except Exception:
                log.warning("claiming webhook deliveries failed", exc_info=True)
        for job in jobs:
            self._start(job)
        more = read >= BATCH or (len(jobs) > 0 and len(self.in_flight) < self.capacity)
        return more, len(jobs)

    def _start(self, job: Job) -> None:
        assert self._client is not None
        self.busy[job.endpoint_id] = self.busy.get(job.endpoint_id, 0) + 1
        if job.endpoint_id not in self.turns:
            self.turns[job.endpoint_id] = asyncio.Semaphore(self.config.endpoint_concurrency)
        task = asyncio.create_task(self._attempt(self._client, job, self.turns[job.endpoint_id]))
        self.in_flight.add(task)
        task.add_done_callback(self.in_flight.discard)

    async def _attempt(self, client: httpx.AsyncClient, job: Job, turn: asyncio.Semaphore) -> None:
        try:
            async with turn:
                result = await attempt(client, self.config, job)
            self.results.append(result)  # after the await: `flush` swaps the list meanwhile
        finally:
            left = self.busy.get(job.endpoint_id, 1) - 1
            if left > 0:
                self.busy[job.endpoint_id] = left
            else:
                self.busy.pop(job.endpoint_id, None)
                self.turns.pop(job.endpoint_id, None)
            self.wake.set()

    async def flush(self) -> None:
        """Record the outcomes gathered so far (one transaction), retrying while the database
        refuses: an outcome lost here would only mean one more attempt once its claim lapses."""
        batch, self.results = self.results, []
        while True:
            try:
                await record(batch, self.config)
                return
            except Exception:
                log.warning("recording webhook attempts failed; retrying", exc_info=True)
                await asyncio.sleep(1)
