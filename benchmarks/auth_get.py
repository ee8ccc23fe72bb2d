"""Authenticated `GET /v1/suppliers/{id}` of the gateway against a bare Litestar hello world.

Both apps are served the same way (granian, ASGI interface, same worker count, this machine,
127.0.0.1 only) and loaded one after the other by the same load generator with the same
connections and duration, after a warm-up. Prints requests/s of each and their ratio
(goal: gateway / hello >= 0.5).

    .venv/bin/python benchmarks/auth_get.py [--seconds 10] [--connections 64] [--workers 1]
        [--database-url postgresql://postgres@127.0.0.1:5432/gateway_bench]

Setup: a temporary SQLite database (default), or with `--database-url` a PostgreSQL database
that this script creates and drops (it refuses one that already exists); `gateway tenant
create --json` for an operator key; a supplier and a supplier secret key made over HTTP.
The gateway runs with GATEWAY_RATE_LIMIT=100000000 (the limiter still counts, but never
refuses) and GATEWAY_LOG_LEVEL=WARNING (no access-log lines).

Load generator: `wrk` when it is on PATH, else a Python asyncio client (raw sockets, HTTP/1.1
keep-alive, no pipelining). Either runs on the same machine and competes for its CPUs; the
table shows how much CPU the server and the client used.

Extra: `--rounds N` alternates the two endpoints N times and reports medians; `--py-spy FILE`
records a py-spy profile of the gateway workers in one more, unmeasured, run (summarise it
with benchmarks/profile_auth_get.py summarize FILE).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from array import array
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # every request of this script goes here, and nowhere else
BIN = Path(sys.executable).parent
RATE_LIMIT = "100000000"
LOG_LEVEL = "WARNING"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# urllib would honour http_proxy & co; the setup requests must reach 127.0.0.1 directly
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# -- processes -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def process_cpu(pid: int) -> float:
    """utime + stime of one process, in seconds (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def cpu_seconds(self) -> float:
        """utime + stime of every live process in the server's process group (main + workers)."""
        total = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) == self.proc.pid:  # pgrp
                total += int(fields[11]) + int(fields[12])
        return total / CLK_TCK

    def worker_pids(self) -> list[int]:
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        stat = f.read()
                except OSError:
                    continue
                fields = stat[stat.rindex(")") + 2 :].split()
                if int(fields[1]) == self.proc.pid:  # ppid: granian's worker processes
                    pids.append(int(entry))
        return pids


class Servers:
    """Every process this script starts, each in its own process group, stopped at the end."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.started: list[Server] = []

    def start(self, name: str, cmd: list[str], env: dict[str, str]) -> Server:
        log_path = self.workdir / f"{name}.log"
        with open(log_path, "wb") as out:
            proc = subprocess.Popen(
                cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        server = Server(name, proc, log_path)
        self.started.append(server)
        return server

    def stop_all(self) -> None:
        for server in reversed(self.started):
            proc = server.proc
            if proc.poll() is not None:
                continue
            try:
                os.killpg(proc.pid, signal.SIGINT)  # granian shuts its workers down gracefully
            except ProcessLookupError:
                continue
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=5)
        # workers that outlived their main process (they share its process group)
        for server in self.started:
            try:
                os.killpg(server.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.started.clear()


# -- HTTP for the setup --------------------------------------------------------------------


def http(method: str, port: int, path: str, key: str | None = None, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://{HOST}:{port}{path}", data=data, method=method)
    if key is not None:
        request.add_header("Authorization", f"Bearer {key}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with _OPENER.open(request, timeout=10) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        raw = error.read()
        status = error.code
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


def wait_ready(server: Server, port: int, path: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.proc.returncode}:\n{server.tail()}")
        try:
            status, _ = http("GET", port, path)
            if status == 200:
                return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{server.name} not ready on port {port} after {timeout}s:\n{server.tail()}")


# -- databases -----------------------------------------------------------------------------

_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PostgresDatabase:
    """A database the benchmark creates and drops; it never touches one that exists already."""

    def __init__(self, url: str) -> None:
        parsed = urlparse(url)
        name = parsed.path.lstrip("/") or f"gateway_bench_{secrets.token_hex(4)}"
        if not _DB_NAME.match(name) or name in ("postgres", "template0", "template1"):
            raise SystemExit(f"refusing database name {name!r}: give a new lowercase name, it is created and dropped")
        self.name = name
        self.url = urlunparse(parsed._replace(path=f"/{name}"))
        self.admin_url = urlunparse(parsed._replace(path="/postgres"))
        self.created = False

    async def _admin(self, sql: str, *args: Any) -> Any:
        import asyncpg

        conn = await asyncpg.connect(self.admin_url, timeout=10)
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    def create(self) -> None:
        exists = asyncio.run(self._admin("SELECT 1 FROM pg_database WHERE datname = $1", self.name))
        if exists:
            raise SystemExit(
                f"database {self.name!r} already exists; the benchmark drops its database at the end, "
                "so it only uses one it creates: pick another name"
            )
        asyncio.run(self._admin(f'CREATE DATABASE "{self.name}"'))
        self.created = True

    def backend_pids(self) -> set[int]:
        """PostgreSQL server processes serving this database (the gateway's pool connections)."""
        rows = asyncio.run(self._admin("SELECT pid FROM pg_stat_activity WHERE datname = $1", self.name))
        return {int(row["pid"]) for row in rows}

    def drop(self) -> None:
        if self.created:
            asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            self.created = False


# -- load generation -----------------------------------------------------------------------


@dataclass
class Result:
    endpoint: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float | None = None
    p99_ms: float | None = None
    non_2xx: int = 0
    errors: int = 0
    server_cpu: float = 0.0  # CPU seconds / wall seconds (1.0 = one core busy)
    client_cpu: float = 0.0
    db_cpu: float | None = None  # PostgreSQL backends serving the benchmark database
    other_cpu: float = 0.0  # everything else on the machine meanwhile (other processes, kernel, irq)
    extra: dict[str, Any] = field(default_factory=dict)


_WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _wrk_ms(text: str, label: str) -> float | None:
    match = re.search(rf"^\s*{re.escape(label)}\s+([\d.]+)(us|ms|s|m)\s*$", text, re.MULTILINE)
    return float(match.group(1)) * _WRK_UNITS[match.group(2)] if match else None


def run_wrk(url: str, key: str | None, connections: int, seconds: float, threads: int) -> dict[str, Any]:
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    if key is not None:
        cmd += ["-H", f"Authorization: Bearer {key}"]
    cmd.append(url)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if rps is None or total is None:
        raise RuntimeError(f"could not parse wrk output:\n{out}")
    return {
        "rps": float(rps.group(1)),
        "requests": int(total.group(1)),
        "seconds": float(total.group(2)) * {"ms": 0.001, "s": 1.0, "m": 60.0}[total.group(3)],
        "p50_ms": _wrk_ms(out, "50%"),
        "p99_ms": _wrk_ms(out, "99%"),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "errors": sum(int(g) for g in sock.groups()) if sock else 0,
        "raw": out,
    }


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    length = re.search(rb"\r\ncontent-length:\s*(\d+)", lower)
    if length is not None:
        await reader.readexactly(int(length.group(1)))
    elif b"\r\ntransfer-encoding: chunked" in lower:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


async def _load(
    port: int, request: bytes, connections: int, seconds: float, max_requests: int
) -> tuple[int, int, int, bytes, float]:
    budget = [max_requests]
    latencies = array("d")
    counts = {"non_2xx": 0, "errors": 0}
    start = time.perf_counter()
    deadline = start + seconds

    async def connection() -> None:
        writer = None
        while budget[0] > 0 and time.perf_counter() < deadline:
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(HOST, port)
                budget[0] -= 1
                t0 = time.perf_counter()
                writer.write(request)  # one request in flight per connection: no pipelining
                status = await _read_response(reader)
                latencies.append(time.perf_counter() - t0)
                if not 200 <= status < 300:
                    counts["non_2xx"] += 1
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                counts["errors"] += 1
                if writer is not None:
                    writer.close()
                writer = None
                await asyncio.sleep(0.01)
        if writer is not None:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    elapsed = time.perf_counter() - start
    return len(latencies), counts["non_2xx"], counts["errors"], latencies.tobytes(), elapsed


def _load_process(args: tuple[int, bytes, int, float, int]) -> tuple[int, int, int, bytes, float]:
    return asyncio.run(_load(*args))


def run_python(
    port: int, path: str, key: str | None, connections: int, seconds: float, processes: int, max_requests: int
) -> dict[str, Any]:
    headers = [f"GET {path} HTTP/1.1", f"Host: {HOST}:{port}", "Accept: */*"]
    if key is not None:
        headers.append(f"Authorization: Bearer {key}")
    request = ("\r\n".join(headers) + "\r\n\r\n").encode()
    processes = max(1, min(processes, connections))
    shares = [connections // processes + (1 if i < connections % processes else 0) for i in range(processes)]
    jobs = [(port, request, n, seconds, max(1, max_requests // processes)) for n in shares]
    if processes == 1:
        parts = [_load_process(jobs[0])]
    else:
        with ProcessPoolExecutor(processes, mp_context=get_context("fork")) as pool:
            parts = list(pool.map(_load_process, jobs))
    latencies = array("d")
    for part in parts:
        latencies.frombytes(part[3])
    ordered = sorted(latencies)
    elapsed = max(part[4] for part in parts)

    def pct(q: float) -> float | None:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else None

    return {
        "rps": len(ordered) / elapsed,
        "requests": len(ordered),
        "seconds": elapsed,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "non_2xx": sum(part[1] for part in parts),
        "errors": sum(part[2] for part in parts),
    }


@dataclass
class Target:
    name: str
    server: Server
    port: int
    path: str
    key: str | None


class Loader:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.pg: PostgresDatabase | None = None
        wanted = args.load_generator
        if wanted == "auto":
            wanted = "wrk" if shutil.which("wrk") else "python"
        if wanted == "wrk" and not shutil.which("wrk"):
            raise SystemExit("--load-generator wrk: wrk is not on PATH")
        self.kind = wanted

    def describe(self) -> str:
        if self.kind == "wrk":
            version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0].strip()
            return f"wrk ({version or 'wrk'}), {self.args.threads} thread(s)"
        return f"python asyncio client (HTTP/1.1 keep-alive, no pipelining), {self.args.client_processes} process(es)"

    def hit(self, target: Target, seconds: float) -> dict[str, Any]:
        if self.kind == "wrk":
            url = f"http://{HOST}:{target.port}{target.path}"
            return run_wrk(url, target.key, self.args.connections, seconds, self.args.threads)
        return run_python(
            target.port,
            target.path,
            target.key,
            self.args.connections,
            seconds,
            self.args.client_processes,
            self.args.max_requests,
        )

    def measure(self, target: Target) -> Result:
        """One measurement; repeated (up to --retries) when other work on the machine skewed it."""
        best: Result | None = None
        for attempt in range(1 + self.args.retries):
            if attempt:
                log(f"  other processes used {best.other_cpu:.0%} CPU meanwhile: measuring again")  # type: ignore[union-attr]
            wait_for_quiet(self.args.max_other_cpu)
            result = self._measure_once(target)
            if best is None or result.other_cpu < best.other_cpu:
                best = result
            if best.other_cpu <= self.args.max_other_cpu:
                break
        assert best is not None
        best.extra["attempts"] = attempt + 1
        return best

    def _measure_once(self, target: Target) -> Result:
        if self.args.warmup > 0:
            self.hit(target, self.args.warmup)
        backends = self.pg.backend_pids() if self.pg is not None else set()
        cpu_backends = {pid: process_cpu(pid) for pid in backends}
        cpu_server = target.server.cpu_seconds()
        cpu_client = _client_cpu()
        cpu_machine = _machine_cpu()
        wall = time.perf_counter()
        raw = self.hit(target, self.args.seconds)
        wall = time.perf_counter() - wall
        server_cpu = (target.server.cpu_seconds() - cpu_server) / wall
        client_cpu = (_client_cpu() - cpu_client) / wall
        machine_cpu = (_machine_cpu() - cpu_machine) / wall
        db_cpu = None
        if self.pg is not None:  # backends born during the run count whole
            db_cpu = sum(process_cpu(pid) - cpu_backends.get(pid, 0.0) for pid in backends | self.pg.backend_pids())
            db_cpu /= wall
        return Result(
            endpoint=target.name,
            requests=raw["requests"],
            seconds=raw["seconds"],
            rps=raw["rps"],
            p50_ms=raw["p50_ms"],
            p99_ms=raw["p99_ms"],
            non_2xx=raw["non_2xx"],
            errors=raw["errors"],
            server_cpu=server_cpu,
            client_cpu=client_cpu,
            db_cpu=db_cpu,
            other_cpu=max(0.0, machine_cpu - server_cpu - client_cpu - (db_cpu or 0.0)),
        )


def wait_for_quiet(threshold: float, timeout: float = 60.0) -> None:
    """Wait (up to `timeout`) until the machine, our idle servers included, is below `threshold` busy."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline and quiet < 3:
        before = _machine_cpu()
        time.sleep(1.0)
        quiet = quiet + 1 if _machine_cpu() - before <= threshold else 0
    if quiet < 3:
        log(f"  the machine did not become quiet within {timeout:.0f}s: measuring anyway")


def _machine_cpu() -> float:
    """Busy CPU seconds of the whole machine (all CPUs) from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / CLK_TCK


def _client_cpu() -> float:
    """CPU seconds of this process plus its reaped children (wrk, or the load-generator processes).

    The servers are children too, but they are only reaped at the end, so they never count here.
    """
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


# -- the run -------------------------------------------------------------------------------


def gateway_command() -> list[str]:
    script = BIN / "gateway"
    return [str(script)] if script.exists() else [sys.executable, "-m", "gateway"]


def granian_command(workers: int, port: int, target: str) -> list[str]:
    command = [sys.executable, "-m", "granian", "--interface", "asgi", "--workers", str(workers)]
    return [*command, "--host", HOST, "--port", str(port), "--no-access-log", target]


def source_fingerprint() -> str:
    """The app's code changes while it is being tuned: name the state that was measured."""
    import hashlib

    digest = hashlib.sha256()
    newest = 0.0
    for package in ("gateway", "suppliers", "channels"):
        for path in sorted((ROOT / package).rglob("*.py")):
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
            newest = max(newest, path.stat().st_mtime)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(newest))
    return f"sha256 {digest.hexdigest()[:12]} of gateway/ suppliers/ channels/ *.py (newest file {stamp} UTC)"


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": sys.version.split()[0]}
    for name in ("litestar", "msgspec", "piccolo", "granian", "asyncpg"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "-"
    return found


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f}us" if value < 1 else f"{value:.2f}ms"


def print_table(hello: list[Result], gateway: list[Result], skewed: float) -> float:
    rows = [("hello GET /", hello), ("gateway GET /v1/suppliers/{id}", gateway)]
    print(
        f"{'endpoint':<38} {'req/s':>10} {'p50':>9} {'p99':>9} {'requests':>9} {'non-2xx':>8} {'errors':>7}"
        f" {'server CPU':>10} {'client CPU':>10} {'db CPU':>7} {'other CPU':>9}"
    )
    medians = []
    for label, results in rows:
        for i, r in enumerate(results):
            name = label if len(results) == 1 else f"{label} #{i + 1}"
            if r.other_cpu > skewed:
                name += " (!)"
            print(
                f"{name:<38} {r.rps:>10.0f} {fmt_ms(r.p50_ms):>9} {fmt_ms(r.p99_ms):>9} {r.requests:>9} {r.non_2xx:>8}"
                f" {r.errors:>7} {r.server_cpu:>10.0%} {r.client_cpu:>10.0%}"
                f" {'-' if r.db_cpu is None else format(r.db_cpu, '.0%'):>7} {r.other_cpu:>9.0%}"
            )
        medians.append(statistics.median(r.rps for r in results))
    if len(hello) > 1:
        print(f"{'median hello':<38} {medians[0]:>10.0f}\n{'median gateway':<38} {medians[1]:>10.0f}")
    if any(r.other_cpu > skewed for r in [*hello, *gateway]):
        print(f"(!) other processes used more than {skewed:.0%} CPU during this measurement, even after retries")
    ratio = medians[1] / medians[0] if medians[0] else 0.0
    verdict = "met" if ratio >= 0.5 else "MISSED"
    print(f"\nratio gateway / hello = {ratio:.3f}   (goal >= 0.5: {verdict})")
    return ratio


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seconds", type=float, default=10.0, help="measured duration per endpoint (default 10)")
    p.add_argument("--warmup", type=float, default=3.0, help="warm-up before each measurement (default 3s)")
    p.add_argument("--connections", type=int, default=64, help="concurrent keep-alive connections (default 64)")
    p.add_argument("--workers", type=int, default=1, help="granian workers for each server (default 1)")
    p.add_argument("--database-url", help="postgresql://user@127.0.0.1:5432/NEWDB (created, then dropped)")
    p.add_argument("--rounds", type=int, default=1, help="alternate hello/gateway this many times; medians")
    p.add_argument("--load-generator", choices=["auto", "wrk", "python"], default="auto")
    p.add_argument("--threads", type=int, default=1, help="wrk threads (default 1: the machine has few cores)")
    p.add_argument("--client-processes", type=int, default=1, help="processes of the Python load generator")
    p.add_argument("--max-requests", type=int, default=10_000_000, help="cap per Python-generator run")
    p.add_argument(
        "--gateway-variant",
        metavar="KEYS",
        help="serve benchmarks/gateway_variant.py with these comma-separated patches of benchmarks/variants.py\n"
        "(what-if measurements of suggested optimisations) instead of `gateway serve`",
    )
    p.add_argument(
        "--max-other-cpu",
        type=float,
        default=0.15,
        help="CPU (1.0 = one core) that other processes may use during a measurement before it is\n"
        "repeated; before each one the script also waits for the machine to be that quiet (default 0.15)",
    )
    p.add_argument("--retries", type=int, default=2, help="repeats of a skewed measurement (default 2)")
    p.add_argument("--json", type=Path, help="also write the results here")
    p.add_argument("--py-spy", type=Path, help="after measuring, profile the gateway under load into this file")
    p.add_argument("--py-spy-hello", type=Path, help="the same for the hello-world server, for comparison")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (server logs)")
    args = p.parse_args(argv)
    if args.connections < args.threads:
        args.threads = args.connections
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def on_term(*_: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    workdir = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
    servers = Servers(workdir)
    pg: PostgresDatabase | None = None
    source = source_fingerprint()  # before any server imports the code
    try:
        loader = Loader(args)
        if args.database_url:
            if not args.database_url.startswith(("postgres://", "postgresql://")):
                raise SystemExit("--database-url: only postgresql:// URLs (the default is a temporary SQLite file)")
            pg = PostgresDatabase(args.database_url)
            pg.create()
            loader.pg = pg
            database_url = pg.url
            log(f"created PostgreSQL database {pg.name}")
        else:
            database_url = f"sqlite:///{workdir / 'gateway-bench.db'}"
        shown_db = re.sub(r"//([^:@/]+):[^@/]*@", r"//\1:***@", database_url)

        env = dict(os.environ)
        env.pop("GATEWAY_REDIS_URL", None)  # in-memory rate-limit counters, as in a single-process deployment
        env.update(
            GATEWAY_DATABASE_URL=database_url,
            GATEWAY_RATE_LIMIT=RATE_LIMIT,
            GATEWAY_LOG_LEVEL=LOG_LEVEL,
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        )
        log("gateway tenant create bench --json")
        created = subprocess.run(
            [*gateway_command(), "tenant", "create", "bench", "--json"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if created.returncode != 0:
            raise RuntimeError(f"tenant create failed:\n{created.stderr}")
        operator_key = json.loads(created.stdout)["operator_key"]

        gw_port, hello_port = free_port(), free_port()
        if args.gateway_variant:
            # the same granian settings as `gateway serve` (ASGI, N workers, no access log), patched app
            env["BENCH_GATEWAY_PATCHES"] = args.gateway_variant
            gateway_cmd = granian_command(args.workers, gw_port, "benchmarks.gateway_variant:app")
        else:
            gateway_cmd = [*gateway_command(), "serve", "--host", HOST, "--port", str(gw_port)]
            gateway_cmd += ["--workers", str(args.workers)]
        gateway = servers.start("gateway", gateway_cmd, env)
        hello_env = {k: v for k, v in env.items() if not k.startswith(("GATEWAY_", "BENCH_"))}
        hello = servers.start("hello", granian_command(args.workers, hello_port, "benchmarks.hello_app:app"), hello_env)
        wait_ready(gateway, gw_port, "/healthz")
        wait_ready(hello, hello_port, "/")

        status, supplier = http("POST", gw_port, "/v1/suppliers", operator_key, {"name": "Benchmark supplier"})
        if status != 201:
            raise RuntimeError(f"POST /v1/suppliers: {status} {supplier}")
        status, created_key = http(
            "POST",
            gw_port,
            "/v1/api-keys",
            operator_key,
            {"owner": {"type": "supplier", "id": supplier["id"]}, "kind": "secret"},
        )
        if status != 201:
            raise RuntimeError(f"POST /v1/api-keys: {status} {created_key}")
        supplier_key = created_key["key"]
        path = f"/v1/suppliers/{supplier['id']}"
        status, body = http("GET", gw_port, path, supplier_key)
        if status != 200 or body.get("id") != supplier["id"]:
            raise RuntimeError(f"GET {path}: {status} {body}")

        targets = [
            Target("hello GET /", hello, hello_port, "/", None),
            Target("gateway GET /v1/suppliers/{id}", gateway, gw_port, path, supplier_key),
        ]
        info = {
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "load_generator": loader.describe(),
            "connections": args.connections,
            "seconds": args.seconds,
            "warmup": args.warmup,
            "workers": args.workers,
            "rounds": args.rounds,
            "database": shown_db if pg else "SQLite (temporary file, WAL)",
            "gateway": f"patched variant: {args.gateway_variant}" if args.gateway_variant else "gateway serve",
            "gateway_env": f"GATEWAY_RATE_LIMIT={RATE_LIMIT} GATEWAY_LOG_LEVEL={LOG_LEVEL} (memory rate-limit counters)",
            "cpus": os.cpu_count(),
            "source": source,
            "versions": versions(),
        }
        for k, v in info.items():
            log(f"{k}: {v}")

        results: dict[str, list[Result]] = {t.name: [] for t in targets}
        for round_no in range(args.rounds):
            for target in targets:
                log(f"round {round_no + 1}/{args.rounds}: {target.name} ({args.warmup:g}s warm-up, {args.seconds:g}s)")
                results[target.name].append(loader.measure(target))

        print()
        print(
            f"gateway {path} (supplier secret key) vs hello world; granian --workers {args.workers}; "
            f"{args.connections} connections; {args.seconds:g}s each after {args.warmup:g}s warm-up"
        )
        print(f"load generator: {info['load_generator']} on the same {os.cpu_count()}-CPU machine")
        print(f"database: {info['database']}; {info['gateway_env']}")
        print(f"app source: {info['source']}")
        if args.gateway_variant:
            print(f"NOT the gateway as is: {info['gateway']} (benchmarks/variants.py)")
        print(
            "CPU columns: CPU-seconds per wall-second (100% = one core) of the server's processes, the load"
            " generator, the PostgreSQL backends of the benchmark database, and everything else on the machine"
            " (should be ~0: anything else running skews the run)"
        )
        print()
        ratio = print_table(results[targets[0].name], results[targets[1].name], args.max_other_cpu)

        if args.json:
            payload = {
                **info,
                "ratio": ratio,
                "results": {name: [vars(r) for r in rs] for name, rs in results.items()},
            }
            args.json.write_text(json.dumps(payload, indent=2))
            log(f"wrote {args.json}")

        if args.py_spy:
            profile_server(args, loader, targets[1], args.py_spy)
        if args.py_spy_hello:
            profile_server(args, loader, targets[0], args.py_spy_hello)
        return 0
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        servers.stop_all()
        if pg is not None:
            try:
                pg.drop()
                log(f"dropped PostgreSQL database {pg.name}")
            except Exception as error:  # still report, never hide the run's own error
                log(f"could not drop database {pg.name}: {error}")
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def profile_server(args: argparse.Namespace, loader: Loader, target: Target, output: Path) -> None:
    """One more (unmeasured) load run with py-spy sampling every process of the server."""
    py_spy = shutil.which("py-spy") or str(BIN / "py-spy")
    if not Path(py_spy).exists():
        log("py-spy not found (pip install py-spy into the venv); skipping the profile")
        return
    duration = max(2, round(args.seconds))
    cmd = [
        py_spy, "record", "--pid", str(target.server.proc.pid), "--subprocesses",
        "--rate", "200", "--duration", str(duration), "--format", "raw", "--output", str(output),
    ]  # fmt: skip
    log(f"profiling: {' '.join(cmd)}")
    spy = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        time.sleep(1.0)  # let py-spy attach
        loader.hit(target, duration + 1)
        _, err = spy.communicate(timeout=60)
        if spy.returncode != 0:
            log(f"py-spy failed: {err.decode(errors='replace')[-500:]}")
        else:
            log(f"wrote {output} (summarise: .venv/bin/python benchmarks/profile_auth_get.py summarize {output})")
    finally:
        if spy.poll() is None:
            spy.kill()


if __name__ == "__main__":
    raise SystemExit(main())
