"""Webhook deliveries per second to a local receiver, and the lag from commit to delivery.

    .venv/bin/python benchmarks/webhooks.py [--events 5000] [--workers 1,2] [--rate 0]
        [--seconds 10] [--database-url postgresql://postgres@127.0.0.1:5432/NEWDB]

Goal (SQLite): >= 1,000 deliveries/s.

For each worker count N: a fresh database (a temporary SQLite file, or a PostgreSQL database
this script creates and drops), a tenant with one endpoint (`*`) pointing at
`benchmarks/webhook_receiver.py` (a raw asyncio HTTP/1.1 server in its own process that answers
200 at once), and N `gateway worker` processes (the background jobs alone, default webhook
settings but `GATEWAY_WEBHOOKS_ALLOW_INSECURE`).

1. Throughput: `--events` events are committed at once (1,000 per transaction, through the
   outbox's own `emit`), and the time until the receiver has every one of them gives
   deliveries/s (fan-out, claim, sign, POST, record included); the workers' CPU time over the
   same span gives deliveries per CPU-second (a figure less at the mercy of other load).
2. Lag: events are committed at a steady `--rate` per second (default: 80 % of the throughput
   just measured) for `--seconds`, 1/100 of a second's worth per transaction; each event's lag
   is its arrival at the receiver minus the end of its commit. Prints p50, p99 and max.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
GATEWAY = str(Path(sys.executable).parent / "gateway")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used (Linux /proc), so that a figure taken on a
    shared machine can be read per CPU-second as well as per wall-clock second."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def stats(port: int, what: str = "stats") -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/{what}", timeout=30) as response:
        return json.loads(response.read())


async def setup(url: str, receiver_url: str) -> str:
    from gateway.crypto import load_keyring, use_keyring
    from gateway.settings import Settings
    from gateway.storage import Database, make_engine, use
    from gateway.tenancy.principal import Principal
    from gateway.tenancy.services import create_tenant
    from gateway.webhooks import config as webhook_config
    from gateway.webhooks import services
    from gateway.webhooks.config import WebhookConfig
    from gateway.webhooks.schemas import EndpointCreate

    settings = Settings.from_env()
    use_keyring(load_keyring(settings))
    use(Database(make_engine(settings)))
    webhook_config.use(WebhookConfig(allow_insecure=True))
    tenant = await create_tenant("Webhook benchmark")
    operator = Principal(tenant_id=tenant.tenant.id, type="operator", owner_id=None, key_id="bench", key_kind="secret")
    await services.create(operator, EndpointCreate(url=receiver_url, events=["*"]))
    return tenant.tenant.id


async def commit(tenant_id: str, count: int, tag: str) -> tuple[list[str], float]:
    from gateway.events.services import emit
    from gateway.storage import db

    ids = []
    async with db().transaction():
        for index in range(count):
            ids.append(await emit(tenant_id, "benchmark.event", {"tag": tag, "n": index}))
    return ids, time.time()


async def run(workers: int, args: argparse.Namespace, url: str) -> dict[str, Any]:
    port = free_port()
    # setup, before anything is measured
    receiver = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "webhook_receiver.py"), str(port)])  # noqa: ASYNC220
    await asyncio.sleep(0.5)
    tenant_id = await setup(url, f"http://127.0.0.1:{port}/hooks")
    env = {**os.environ, "GATEWAY_WEBHOOKS_ALLOW_INSECURE": "true", "GATEWAY_LOG_LEVEL": "WARNING"}
    procs = [subprocess.Popen([GATEWAY, "worker"], env=env, stderr=subprocess.DEVNULL) for _ in range(workers)]  # noqa: ASYNC220
    try:
        await asyncio.sleep(3)  # workers up, the endpoint's own event delivered
        base = stats(port)["unique"]
        pids = [proc.pid for proc in procs]
        cpu_before = cpu_seconds(pids)
        started = time.time()
        for offset in range(0, args.events, 1000):
            await commit(tenant_id, min(1000, args.events - offset), "burst")
        committed = time.time()
        while stats(port)["unique"] < base + args.events:  # noqa: ASYNC110 - polling another process
            await asyncio.sleep(0.02)
        finished = time.time()
        cpu = cpu_seconds(pids) - cpu_before
        rate = args.events / (finished - started)
        result: dict[str, Any] = {
            "workers": workers,
            "events": args.events,
            "commit_seconds": round(committed - started, 2),
            "deliveries_per_second": round(rate),
            "worker_cpu_seconds": round(cpu, 2),
            "deliveries_per_worker_cpu_second": round(args.events / cpu) if cpu else None,
            "load_average": os.getloadavg()[0],
            "duplicates": stats(port)["count"] - stats(port)["unique"],
        }
        target = args.rate or max(10, int(rate * 0.8))
        per_tick = max(1, target // 100)
        commits: dict[str, float] = {}
        end = time.time() + args.seconds
        next_tick = time.time()
        while time.time() < end:
            ids, at = await commit(tenant_id, per_tick, "steady")
            commits.update(dict.fromkeys(ids, at))
            next_tick += 0.01
            await asyncio.sleep(max(0.0, next_tick - time.time()))
        sent_rate = len(commits) / args.seconds
        deadline = time.time() + 120
        while time.time() < deadline:
            arrivals = stats(port, "dump")
            if all(ident in arrivals for ident in commits):
                break
            await asyncio.sleep(0.2)
        lags = sorted(max(0.0, arrivals[ident] - at) * 1000 for ident, at in commits.items() if ident in arrivals)
        result.update(
            {
                "lag_rate_per_second": round(sent_rate),
                "lag_events": len(lags),
                "lag_p50_ms": round(statistics.median(lags), 1),
                "lag_p99_ms": round(lags[int(len(lags) * 0.99) - 1], 1),
                "lag_max_ms": round(lags[-1], 1),
            }
        )
        return result
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        receiver.kill()
        from gateway.storage import db

        await db().close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--rate", type=int, default=0, help="events/s for the lag phase (default: 80%% of throughput)")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--database-url", default=None, help="a PostgreSQL URL naming a database to create and drop")
    args = parser.parse_args()
    for workers in (int(n) for n in args.workers.split(",")):
        tmp = Path(tempfile.mkdtemp(prefix="webhook-bench-"))
        if args.database_url:
            name = args.database_url.rsplit("/", 1)[1]
            admin = args.database_url.rsplit("/", 1)[0] + "/postgres"
            subprocess.run(["psql", admin, "-qc", f'CREATE DATABASE "{name}"'], check=True)
            url = args.database_url
            from gateway.crypto import new_index_key, new_key_line

            os.environ.setdefault("GATEWAY_DATA_KEYS", new_key_line())
            os.environ.setdefault("GATEWAY_INDEX_KEY", new_index_key())
        else:
            url = f"sqlite:///{tmp / 'gateway.db'}"
        os.environ["GATEWAY_DATABASE_URL"] = url
        try:
            subprocess.run([GATEWAY, "migrate"], check=True, stderr=subprocess.DEVNULL)
            print(json.dumps(asyncio.run(run(workers, args, url))), flush=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            if args.database_url:
                subprocess.run(["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'], check=False)


if __name__ == "__main__":
    main()
