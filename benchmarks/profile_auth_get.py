"""Where the time of an authenticated `GET /v1/suppliers/{id}` goes.

Three tools, none of which changes the app:

    # in-process: the app called directly over ASGI (no server, no sockets), hello world as
    # baseline, cProfile of the gateway, and "what if" variants patched in for this process only
    .venv/bin/python benchmarks/profile_auth_get.py cprofile [--requests 20000] [--concurrency 64]
        [--database-url postgresql://postgres@127.0.0.1:5432/NEWDB] [--no-variants]

    # summarise a py-spy profile recorded under real load by `auth_get.py --py-spy FILE`
    .venv/bin/python benchmarks/profile_auth_get.py summarize FILE

Numbers in-process are the app's own cost per request (the server's work — sockets, HTTP
parsing, granian's hand-over to Python — comes on top, the same for both apps).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import os
import pstats
import re
import resource
import secrets
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.auth_get import _machine_cpu, wait_for_quiet  # noqa: E402
from benchmarks.variants import POSTGRES_ONLY, VARIANTS, applicable, patched  # noqa: E402

# -- direct ASGI calls ---------------------------------------------------------------------


def make_scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8000"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def call(app: Any, template: dict[str, Any], body: bytes = b"") -> tuple[int, bytes]:
    scope = dict(template)
    scope["headers"] = list(template["headers"])
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def request_json(app: Any, method: str, path: str, key: str, payload: Any = None) -> tuple[int, Any]:
    headers = [(b"authorization", f"Bearer {key}".encode())]
    body = b""
    if payload is not None:
        body = json.dumps(payload).encode()
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    status, raw = await call(app, make_scope(method, path, headers), body)
    return status, json.loads(raw) if raw else None


async def hammer(app: Any, template: dict[str, Any], requests: int, concurrency: int) -> float:
    """Seconds to serve `requests` requests with `concurrency` in flight on this loop."""
    remaining = requests
    failures: Counter[int] = Counter()

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            status, _ = await call(app, template)
            if status != 200:
                failures[status] += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"non-200 responses: {dict(failures)}")
    return elapsed


# -- the in-process run --------------------------------------------------------------------


@contextlib.contextmanager
def temporary_database(url: str | None) -> Iterator[str]:
    if url is None:
        with tempfile.TemporaryDirectory(prefix="gateway-profile-") as tmp:
            yield f"sqlite:///{tmp}/gateway.db"
        return
    from benchmarks.auth_get import PostgresDatabase  # the same create-then-drop rules as the benchmark

    pg = PostgresDatabase(url)
    pg.create()
    try:
        yield pg.url
    finally:
        pg.drop()


HOT = [
    # (label, function name as cProfile shows it, file fragment)
    ("request layer: RequestPipeline.__call__", "__call__", "http/pipeline.py"),
    ("  authentication from the principal cache", "authenticate_cached", "tenancy/auth.py"),
    ("    sha256 digest of the key", "digest", "tenancy/credentials.py"),
    ("  authentication with a lookup (cache miss)", "authenticate", "tenancy/auth.py"),
    ("  credential rate limit: CredentialLimit.check", "check", "http/ratelimit.py"),
    ("  request id: bind_request_id", "bind_request_id", "http/context.py"),
    ("handler: get_supplier (service + SELECT + convert)", "get_supplier", "controllers.py"),
    ("  records.get_one_as: the supplier SELECT + struct", "get_one_as", "gateway/records.py"),
    ("    SQLite: run_values (the statement)", "run_values", "storage/sqlite.py"),
    ("    asyncpg fetch", "fetch", "asyncpg/connection.py"),
    ("response: to_response (GatewayResponse, encode)", "to_response", "http_handlers/base.py"),
    ("  JSONAnswer: the two ASGI messages", "__call__", "http/responses.py"),
    ("before_send: Litestar's wrapper", "wrapped_send", "litestar/app.py"),
    ("  stamp_answer (id, RateLimit, metrics, log, CORS)", "stamp_answer", "http/pipeline.py"),
    ("    metrics.observe_request", "observe_request", "gateway/metrics.py"),
]


def hot_table(stats: pstats.Stats, requests: int) -> list[tuple[str, float, float]]:
    rows = []
    table = stats.stats  # type: ignore[attr-defined]
    total = max(sum(v[2] for v in table.values()), 1e-9)
    for label, func, fragment in HOT:
        cum = 0.0
        for (filename, _, name), (_, _, _, ct, _) in table.items():
            if name == func and fragment in filename:
                cum = max(cum, ct)  # the same function at two lines would double count
        if cum:
            rows.append((label, cum / requests * 1e6, cum / total))
    return rows


def _own_cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime


async def sql_costs(database: Any, key: str, supplier_id: str, dialect: str) -> None:
    """The two statements of the request alone, sequentially, as the app issues them."""
    from gateway.tenancy.credentials import principal_for

    principal = await principal_for(key)
    select = "SELECT * FROM suppliers WHERE tenant_id = ? AND id = ?"
    timings = []
    for label, run in (
        ("principal_for (sha256 + key lookup join + Principal)", lambda: principal_for(key)),
        (
            "supplier SELECT by tenant_id + id (db().fetch)",
            lambda: database.fetch(select, principal.tenant_id, supplier_id),
        ),
    ):
        for _ in range(200):
            await run()
        n = 5000
        start = time.perf_counter()
        for _ in range(n):
            await run()
        timings.append((label, (time.perf_counter() - start) / n * 1e6))
    print(f"SQL on {dialect}, one at a time (no concurrency, no profiler):")
    for label, us in timings:
        print(f"  {label:<56} {us:>7.1f} us")
    print()


async def in_process(args: argparse.Namespace, database_url: str) -> None:
    from benchmarks.hello_app import app as hello_app
    from gateway.app import create_app
    from gateway.settings import Settings
    from gateway.storage import Database, make_engine, use
    from gateway.storage.migrate import migrate
    from gateway.tenancy.services import create_tenant

    settings = Settings(database_url=database_url, rate_limit=100_000_000, log_level="WARNING")
    database = Database(make_engine(settings))
    use(database)
    await migrate()
    operator_key = (await create_tenant(f"profile-{secrets.token_hex(3)}")).operator_key

    app = create_app(settings, database)
    status, supplier = await request_json(app, "POST", "/v1/suppliers", operator_key, {"name": "Profile supplier"})
    assert status == 201, (status, supplier)
    status, created = await request_json(
        app, "POST", "/v1/api-keys", operator_key, {"owner": {"type": "supplier", "id": supplier["id"]}}
    )
    assert status == 201, (status, created)
    path = f"/v1/suppliers/{supplier['id']}"
    gw_scope = make_scope("GET", path, [(b"authorization", f"Bearer {created['key']}".encode())])
    hello_scope = make_scope("GET", "/", [])

    n, c = args.requests, args.concurrency
    print(f"in-process, direct ASGI calls: {n} requests, {c} in flight, one event loop; {database.dialect}")
    print(f"Python {sys.version.split()[0]}; asyncio loop: {type(asyncio.get_running_loop()).__name__}\n")

    other: list[float] = []
    #: this process's CPU per request (us) of each measurement: steadier than the wall clock
    #: on a shared machine, where other processes take turns on the cores
    cpu: list[float] = []

    async def rate(target: Any, scope: dict[str, Any]) -> float:
        wait_for_quiet(0.15)  # the machine may be shared: start when nothing else runs
        await hammer(target, scope, max(500, n // 10), c)  # warm-up
        machine, me, wall = _machine_cpu(), _own_cpu(), time.perf_counter()
        rps = n / await hammer(target, scope, n, c)
        wall = time.perf_counter() - wall
        mine = _own_cpu() - me
        other.append(max(0.0, (_machine_cpu() - machine - mine) / wall))
        cpu.append(mine / n * 1e6)
        return rps

    await sql_costs(database, created["key"], supplier["id"], settings.dialect)

    hello_rps = await rate(hello_app, hello_scope)
    hello_cpu = cpu[-1]
    besides = "other processes" + (" incl. PostgreSQL" if database.dialect == "postgres" else "")
    print(f"{'':<46} {'':>15} {'wall':>18} {'CPU':>12} {'':>17} CPU of {besides}")
    print(
        f"{'hello GET /':<46} {hello_rps:>9.0f} req/s {1e6 / hello_rps:>7.1f} us/request {hello_cpu:>7.1f} us"
        f" {'':>17} {other[-1]:>5.0%}"
    )
    print("gateway GET /v1/suppliers/{id}:                                          (hello's CPU / the gateway's)")
    for name, keys in VARIANTS[:1] if args.no_variants else VARIANTS:
        if POSTGRES_ONLY.intersection(keys) and database.dialect != "postgres":
            continue  # the same as "as is" on SQLite
        if not all(applicable(key) for key in keys):
            print(f"  {name:<44} {'':>30}(not in the app any more: nothing to measure)")
            continue
        await database.close()  # a new pool / new connections for each variant (and its patches)
        with patched(keys):
            variant_app = create_app(settings, database) if keys else app
            rps = await rate(variant_app, gw_scope)
        print(
            f"  {name:<44} {rps:>9.0f} req/s {1e6 / rps:>7.1f} us/request {cpu[-1]:>7.1f} us"
            f"   ({hello_cpu / cpu[-1]:.3f} of hello) {other[-1]:>5.0%}"
        )
    use(database)

    profiler = cProfile.Profile()
    await hammer(app, gw_scope, 500, c)
    profiler.enable()
    await hammer(app, gw_scope, n, c)
    profiler.disable()
    stats = pstats.Stats(profiler)
    print("\ncProfile of the gateway as is (times per request; cProfile inflates Python-heavy parts):")
    print(f"{'':<54} {'us/req':>8} {'share':>7}")
    for label, us, share in hot_table(stats, n):
        print(f"{label:<54} {us:>8.1f} {share:>7.1%}")
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(args.top)
        text = out.getvalue()
        print(f"\n--- top {args.top} by {order} ---")
        print(text[text.index("   ncalls") :] if "   ncalls" in text else text)
    if args.output:
        stats.dump_stats(str(args.output))
        print(f"cProfile data in {args.output} (e.g. snakeviz / pstats)")
    await database.close()


# -- py-spy summary --------------------------------------------------------------------------

CATEGORIES = [
    # (label, predicate on the frame list root→leaf); the first match wins
    ("sync guard run in the thread pool (worker thread)", lambda fs: any("concurrent/futures/thread.py" in f for f in fs)),
    ("sync guard: loop side of the thread hop", lambda fs: any("_run_sync_asyncio" in f or "run_in_executor" in f
        or "_chain_future" in f for f in fs)),
    ("granian -> event loop hand-off (call_soon_threadsafe)", lambda fs: any("_cbsched" in f for f in fs)),
    ("auth key lookup (principal_for, SQL included)", lambda fs: any("principal_for" in f for f in fs)),
    ("supplier read: SQL execution + row conversion", lambda fs: any("get_one" in f or "variants.py" in f for f in fs)
        and any("storage/sqlite.py" in f or "asyncpg" in f or "piccolo/engine" in f for f in fs[-3:])),
    ("supplier read: other Python (records.get_one, service)", lambda fs: any("get_one" in f for f in fs)),
    ("to_out: msgspec.convert", lambda fs: any("to_out" in f for f in fs)),
    ("rate-limit middleware (own work)", lambda fs: any("ratelimit.py" in f for f in fs[-2:])),
    ("request id / stamp_response / logging", lambda fs: any("http/context.py" in f for f in fs[-3:])
        or any("logging/__init__" in f for f in fs)),
    ("Litestar response building/sending", lambda fs: any("to_asgi_response" in f or "wrapped_send" in f
        or "response/base.py" in f or "to_response" in f for f in fs)),
    ("Litestar routing/params/middleware layers/other", lambda fs: any("litestar/" in f for f in fs)),
    ("no Python frame (granian's Rust threads)", lambda fs: all(f.startswith("process ") for f in fs)),
    ("asyncio loop / granian Python side", lambda fs: any("asyncio/" in f or "granian/" in f for f in fs)),
    ("other", lambda fs: True),
]  # fmt: skip


def summarize(path: Path, top: int) -> None:
    total = 0
    by_category: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        self_time[re.sub(r"^process \d+:.*", "(native)", frames[-1])] += n
        for label, predicate in CATEGORIES:
            if predicate(frames):
                by_category[label] += n
                break
    print(f"{total} samples (py-spy, non-idle, every gateway process)\n")
    print("by category (each sample counted once, first matching rule):")
    for label, _ in CATEGORIES:
        if by_category[label]:
            print(f"  {by_category[label] / total:>6.1%}  {label}")
    print(f"\ntop {top} functions by own samples:")
    for name, n in self_time.most_common(top):
        print(f"  {n / total:>6.1%}  {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("cprofile", help="in-process measurement, cProfile and variants")
    run.add_argument("--requests", type=int, default=20_000)
    run.add_argument("--concurrency", type=int, default=64)
    run.add_argument("--database-url", help="postgresql://…/NEWDB (created, then dropped); default temporary SQLite")
    run.add_argument("--no-variants", action="store_true", help="skip the patched what-if variants")
    run.add_argument("--top", type=int, default=25)
    run.add_argument("--output", type=Path, help="also dump the cProfile data here")
    spy = commands.add_parser("summarize", help="summarise a py-spy raw profile from auth_get.py --py-spy")
    spy.add_argument("file", type=Path)
    spy.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    if args.command == "summarize":
        summarize(args.file, args.top)
        return 0
    os.environ.setdefault("GATEWAY_LOG_LEVEL", "WARNING")
    with temporary_database(args.database_url) as url:
        asyncio.run(in_process(args, url))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
