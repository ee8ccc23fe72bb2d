"""Background work shared by processes: a cluster job ticks once per interval however many
runners race for it; rows are claimed by one process each; shutdown waits for a running tick."""

from __future__ import annotations

import asyncio
import contextvars
import secrets
from typing import Any

import pytest

from gateway import background
from gateway.background import claims
from gateway.background.registry import Job
from gateway.settings import Settings
from gateway.storage import db


def _runners(settings: Settings, job: Job, count: int) -> list[background.BackgroundRunner]:
    return [background.BackgroundRunner(settings, [job], holder=f"test-runner-{i}") for i in range(count)]


async def test_the_domains_register_their_sweeps() -> None:
    import gateway.app  # noqa: F401 - the kernel's jobs register on import
    from gateway import components

    components.load()  # and the components' (suppliers, channels)

    names = {job.name for job in background.registered()}
    assert {"inventory.expire_reservations", "fulfilment.acceptance_deadlines", "idempotency.purge"} <= names


async def test_a_cluster_job_ticks_once_per_interval_among_many_runners(database: Any, settings: Settings) -> None:
    ticks: list[int] = []

    async def tick(_: Settings) -> int:
        ticks.append(1)
        return 1

    job = Job(name=f"test.once.{secrets.token_hex(4)}", every=3600, tick=tick)
    runners = _runners(settings, job, 3)
    await claims.ensure_lease_rows([job.name])
    ran = await asyncio.gather(*(runner.run_once(job) for runner in runners))
    assert sorted(ran) == [False, False, True] and len(ticks) == 1
    # the next interval is an hour away: nobody runs it again now
    assert not any(await asyncio.gather(*(runner.run_once(job) for runner in runners)))
    rows = await db().fetch("SELECT runs, last_items, holder, last_error FROM background_jobs WHERE name = ?", job.name)
    leader = runners[ran.index(True)].holder
    assert rows == [{"runs": 1, "last_items": 1, "holder": leader, "last_error": ""}]


async def test_the_leader_keeps_the_job_and_hands_it_over_when_it_stops(database: Any, settings: Settings) -> None:
    ran_by: list[str] = []

    def tick_for(holder: str) -> Any:
        async def tick(_: Settings) -> int:
            ran_by.append(holder)
            return 0

        return tick

    name = f"test.lead.{secrets.token_hex(4)}"
    await claims.ensure_lease_rows([name])
    leader = background.BackgroundRunner(settings, [Job(name=name, every=0.001, tick=tick_for("a"))], holder="a")
    other = background.BackgroundRunner(settings, [Job(name=name, every=0.001, tick=tick_for("b"))], holder="b")
    for _ in range(3):
        await asyncio.sleep(0.005)
        assert await leader.run_once(leader.jobs[0])
        assert not await other.run_once(other.jobs[0])  # the lease is the leader's while it lives
    await leader.stop()  # hands the lease back
    await asyncio.sleep(0.005)
    assert await other.run_once(other.jobs[0])
    assert ran_by == ["a", "a", "a", "b"]


async def test_a_lease_left_by_a_dead_runner_is_taken_over_when_it_lapses(database: Any, settings: Settings) -> None:
    async def tick(_: Settings) -> int:
        return 0

    job = Job(name=f"test.lapse.{secrets.token_hex(4)}", every=0.001, tick=tick, lease_seconds=3600)
    await claims.ensure_lease_rows([job.name])
    # a runner took its turn and died without ending it
    assert await claims.take_turn(job.name, 0.001, 3600, holder="dead-runner")
    alive = background.BackgroundRunner(settings, [job], holder="alive")
    assert not await alive.run_once(job)
    await db().fetch("UPDATE background_jobs SET lease_until_ms = 1, next_run_ms = 1 WHERE name = ?", job.name)
    assert await alive.run_once(job)


async def test_a_failing_tick_is_recorded_and_retried(database: Any, settings: Settings) -> None:
    calls: list[int] = []

    async def tick(_: Settings) -> int:
        calls.append(1)
        raise RuntimeError("boom")

    job = Job(name=f"test.fail.{secrets.token_hex(4)}", every=0.001, tick=tick)
    await claims.ensure_lease_rows([job.name])
    runner = background.BackgroundRunner(settings, [job])
    assert await runner.run_once(job)
    rows = await db().fetch("SELECT last_error FROM background_jobs WHERE name = ?", job.name)
    assert rows[0]["last_error"] == "RuntimeError: boom"
    await asyncio.sleep(0.01)
    assert await runner.run_once(job) and len(calls) == 2


async def test_stop_waits_for_the_running_tick(database: Any, settings: Settings) -> None:
    started, finished = asyncio.Event(), asyncio.Event()

    async def tick(_: Settings) -> int:
        started.set()
        await asyncio.sleep(0.3)
        finished.set()
        return 0

    job = Job(name=f"test.stop.{secrets.token_hex(4)}", every=0.01, tick=tick, scope="process")
    runner = background.BackgroundRunner(settings, [job])
    await runner.start()
    await asyncio.wait_for(started.wait(), 5)
    await runner.stop()
    assert finished.is_set()


@pytest.fixture
async def queue() -> Any:
    name = f"test_queue_{secrets.token_hex(4)}"
    await db().fetch(
        f"CREATE TABLE {name} (id TEXT PRIMARY KEY, due_ms BIGINT NOT NULL, "
        "locked_until_ms BIGINT NOT NULL DEFAULT 0, locked_by TEXT NOT NULL DEFAULT '')"
    )
    await db().execute_many(f"INSERT INTO {name} (id, due_ms) VALUES (?, ?)", [(f"row{i:03d}", i) for i in range(60)])
    yield name
    await db().fetch(f"DROP TABLE {name}")


async def test_claim_due_gives_each_row_to_one_claimer(database: Any, queue: str) -> None:
    async def claim() -> list[str]:
        rows = await background.claim_due(
            queue, where="due_ms <= ?", args=[background.now_ms()], order_by="due_ms", limit=25, lease_seconds=60
        )
        return [row["id"] for row in rows]

    batches = await asyncio.gather(*(claim() for _ in range(4)))
    claimed = [row for batch in batches for row in batch]
    assert len(claimed) == len(set(claimed)) == 60
    assert all(len(batch) <= 25 for batch in batches)
    # leased: nothing is due again until the lease lapses
    assert await claim() == []
    await db().fetch(f"UPDATE {queue} SET locked_until_ms = 0 WHERE id = 'row007'")
    assert await claim() == ["row007"]


async def test_lock_due_skips_rows_another_transaction_holds(database: Any, queue: str) -> None:
    with pytest.raises(RuntimeError):
        await background.lock_due(queue, where="1 = 1", order_by="id", limit=5)
    async with db().transaction():
        first = await background.lock_due(queue, columns="id", where="due_ms < ?", args=[10], order_by="id", limit=5)
        assert [row["id"] for row in first] == [f"row00{i}" for i in range(5)]
        if db().dialect == "postgres":

            async def other() -> list[dict[str, Any]]:
                async with db().transaction():
                    return await background.lock_due(
                        queue, columns="id", where="due_ms < ?", args=[10], order_by="id", limit=5
                    )

            # another task's transaction (its own connection) passes over the locked rows
            second = await asyncio.create_task(other(), context=contextvars.Context())
            assert [row["id"] for row in second] == [f"row00{i}" for i in range(5, 10)]


@pytest.mark.slow
async def test_gateway_worker_runs_the_sweeps_and_stops_cleanly(tenant: Any, database_url: str, tmp_path: Any) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time
    import urllib.request
    from datetime import UTC, datetime, timedelta

    from inventory_world import add_location, add_offer, add_supplier
    from servers import free_port

    from gateway.tenancy.principal import Principal
    from suppliers.inventory import services
    from suppliers.inventory.schemas import SetItem

    supplier = await add_supplier(tenant.id)
    location = await add_location(tenant.id, supplier)
    sku = f"WORKER-{secrets.token_hex(3)}"
    await add_offer(tenant.id, supplier, sku)
    operator = Principal(tenant_id=tenant.id, type="operator", owner_id=None, key_id="test", key_kind="secret")
    await services.set_levels(operator, [SetItem(location_id=location, sku=sku, on_hand=10, sequence=1)])
    held = await services.reserve(tenant.id, location, sku, 3, timedelta(hours=1))
    assert held is not None
    await db().fetch(
        "UPDATE reservations SET expires_at = ? WHERE id = ?", datetime(2000, 1, 1, tzinfo=UTC), held["id"]
    )

    port = free_port()
    env = {**os.environ, "GATEWAY_DATABASE_URL": database_url, "GATEWAY_RESERVATION_SWEEP_SECONDS": "1"}
    with (tmp_path / "worker.log").open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "gateway", "worker", "--metrics-port", str(port)], env=env, stdout=log, stderr=log
        )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            rows = await db().fetch("SELECT status FROM reservations WHERE id = ?", held["id"])
            if rows[0]["status"] != "held":
                break
            await asyncio.sleep(0.1)
        assert rows[0]["status"] == "expired"
        # (the test session's own app runs the sweeps too: which of the two released it is a race;
        # the worker takes part either way, and says so in its metrics)
        text = ""
        while time.monotonic() < deadline and 'job="inventory.expire_reservations",outcome=' not in text:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:  # 127.0.0.1 only
                    text = response.read().decode()
            except OSError:
                pass
            await asyncio.sleep(0.2)
        assert 'gateway_background_ticks_total{job="inventory.expire_reservations",outcome=' in text
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(15) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
    level = (await tenant.call("GET", f"/v1/inventory/levels?location_id={location}&sku={sku}")).json()["data"][0]
    assert level["reserved"] == 0
