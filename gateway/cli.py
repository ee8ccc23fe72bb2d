"""`gateway` command line (DESIGN §11)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec

from gateway import components
from gateway.crypto import KeyConfigError, load_keyring, use_keyring
from gateway.oauth.cli import add_commands as add_signing_commands
from gateway.settings import Settings, SettingsError
from gateway.storage import Database, make_engine, use
from gateway.storage.migrate import migrate

#: adds a component's subcommands to `gateway`'s (argparse's subparsers action)
AddCommands = Callable[[Any], None]
_commands: list[AddCommands] = []


def command(add: AddCommands) -> AddCommands:
    """Register a component's CLI commands: `add(subparsers)` adds them; each sets `func`.
    Decorator; `run` below opens the database for a command's coroutine."""
    if add not in _commands:
        _commands.append(add)
    return add


def run(fn: Callable[[], Awaitable[Any]]) -> Any:
    """Run `fn` with the database of the environment bound, and the schema migrated."""

    async def migrated() -> Any:
        await migrate()
        return await fn()

    return _run(migrated)


def _run(fn: Callable[[], Awaitable[Any]]) -> Any:
    database = Database(make_engine(Settings.from_env()))
    use(database)

    async def main() -> Any:
        try:
            return await fn()
        finally:
            await database.close()

    return asyncio.run(main())


def cmd_migrate(_: argparse.Namespace) -> int:
    _run(migrate)
    print("schema up to date", file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from granian import Granian
    from granian.constants import Interfaces

    if args.no_background:  # the workers read it from their environment
        os.environ["GATEWAY_BACKGROUND"] = "false"
    metrics_dir = _share_metrics_between_workers() if args.workers > 1 else None
    # before any worker starts: refuse without keys on PostgreSQL, create the SQLite key file once
    load_keyring(Settings.from_env())
    if not args.no_migrate:
        _run(migrate)
    print(f"gateway on http://{args.host}:{args.port} (OpenAPI at /openapi.json, docs at /docs)", file=sys.stderr)
    Granian(
        "gateway.asgi:app",
        address=args.host,
        port=args.port,
        interface=Interfaces.ASGI,
        workers=args.workers,
        log_access=False,
    ).serve()
    if metrics_dir is not None:
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def _share_metrics_between_workers() -> str | None:
    """One directory for the workers' metric files (prometheus-client's multiprocess mode), so
    that `/metrics` sums every worker whichever one answers. Must run before anything imports
    prometheus-client in this process: the workers are forked from it and keep its choice.
    An operator's own `PROMETHEUS_MULTIPROC_DIR` is used (and emptied of an earlier run's files)."""
    if "prometheus_client" in sys.modules:
        raise RuntimeError("prometheus_client was imported before its multiprocess directory was set")
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    path = Path(given) if given else Path(tempfile.mkdtemp(prefix="gateway-metrics-"))
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    return None if given else str(path)


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the registered background jobs, and nothing else, until SIGTERM or SIGINT."""
    import signal

    import gateway.app  # noqa: F401 - the kernel's jobs register on import (the components' in `main`)
    from gateway.background import BackgroundRunner, registered

    settings = Settings.from_env()
    use_keyring(load_keyring(settings))
    if args.metrics_port is not None:
        # Prometheus text at http://HOST:PORT/ (no token: bind it where only the scraper reaches)
        from prometheus_client import start_http_server

        start_http_server(args.metrics_port, addr=args.metrics_host)

    async def work() -> None:
        await migrate()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        runner = BackgroundRunner(settings)
        await runner.start()
        names = ", ".join(job.name for job in registered())
        print(f"gateway worker: running {names}", file=sys.stderr, flush=True)
        await stop.wait()
        await runner.stop()  # a running tick finishes before the pool closes

    _run(work)
    return 0


def cmd_tenant_create(args: argparse.Namespace) -> int:
    from gateway.tenancy.services import create_tenant

    async def create() -> Any:
        await migrate()
        return await create_tenant(args.name)

    created = _run(create)
    if args.json:
        print(msgspec.json.encode(created).decode())
    else:
        print(f"tenant {created.tenant.id} ({created.tenant.name})\noperator key (shown once): {created.operator_key}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from gateway.demo import build_demo

    async def build() -> Any:
        await migrate()
        return await build_demo(reset=args.reset, origins=args.origin or None)

    summary = _run(build)
    saved = Path("gateway-demo.json")
    saved.write_text(json.dumps(summary, indent=2))  # keys are shown once: keep them for the developer
    print(json.dumps(summary, indent=2))
    print(f"saved to {saved.resolve()}", file=sys.stderr)
    for url in summary["shop"]:  # the demo partner page, embedding the widget
        print(f"demo shop: {url}", file=sys.stderr)
    return 0


def cmd_keys_generate(args: argparse.Namespace) -> int:
    from gateway.crypto import new_index_key, new_key_line

    print(new_index_key() if args.index else new_key_line())
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    """Re-encrypt every stored value not under the current key; exit 1 if some would not decrypt."""
    from gateway.crypto import rotate_stored

    ring = load_keyring(Settings.from_env())
    use_keyring(ring)

    async def run() -> Any:
        await migrate()
        return await rotate_stored(ring, batch_size=args.batch_size)

    report = _run(run)
    detail = ", ".join(f"{name}: {count}" for name, count in report.rotated.items())
    print(f"re-encrypted {report.total} rows under key {report.key_id} ({detail})")
    for name, ids in report.failed.items():
        shown = ", ".join(ids[:10]) + (", ..." if len(ids) > 10 else "")
        print(
            f"{name}: {len(ids)} rows do not decrypt with the configured keys, left unchanged: {shown}", file=sys.stderr
        )
    return 1 if report.failed else 0


def openapi_document() -> str:
    """The contract as committed in openapi/openapi.json: generated from the app, stable order."""
    from litestar.serialization import encode_json

    from gateway.app import create_app

    app = create_app(Settings(database_url="sqlite:///:memory:"))
    schema = json.loads(encode_json(app.openapi_schema.to_schema()))
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def cmd_openapi(args: argparse.Namespace) -> int:
    document = openapi_document()
    if args.output == "-":
        sys.stdout.write(document)
    else:
        Path(args.output).write_text(document)
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="gateway", description="Open commerce gateway")
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="migrate if needed, then serve HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--no-migrate", action="store_true", help="do not migrate first (deploys that run `gateway migrate` once)"
    )
    serve.add_argument(
        "--no-background", action="store_true", help="leave background jobs to `gateway worker` processes"
    )
    serve.set_defaults(func=cmd_serve)

    worker = commands.add_parser("worker", help="run the background jobs (sweeps, deliveries) without serving HTTP")
    worker.add_argument("--metrics-port", type=int, help="serve this process's metrics (Prometheus text) on this port")
    worker.add_argument("--metrics-host", default="127.0.0.1", help="address for --metrics-port (default 127.0.0.1)")
    worker.set_defaults(func=cmd_worker)

    commands.add_parser("migrate", help="apply pending schema migrations").set_defaults(func=cmd_migrate)

    demo = commands.add_parser("demo", help="create a demo tenant with suppliers, a channel and keys")
    demo.add_argument("--reset", action="store_true", help="remove earlier demo tenants first")
    demo.add_argument(
        "--origin",
        action="append",
        metavar="URL",
        help="an origin the demo shop page is served from (repeatable; default http://127.0.0.1:8000 "
        "and http://localhost:8000)",
    )
    demo.set_defaults(func=cmd_demo)

    for add in _commands:  # the components' own (gateway.components): inventory check, coverage, ...
        add(commands)

    openapi = commands.add_parser("openapi", help="write the OpenAPI document generated from the app")
    openapi.add_argument("--output", default="openapi/openapi.json", help="a path, or - for stdout")
    openapi.set_defaults(func=cmd_openapi)

    keys = commands.add_parser(
        "keys", help="keys that encrypt personal data, and that sign OAuth tokens"
    ).add_subparsers(dest="keys_command", required=True)
    generate = keys.add_parser("generate", help="print a new data key `id:base64url` for GATEWAY_DATA_KEYS")
    generate.add_argument("--index", action="store_true", help="print a GATEWAY_INDEX_KEY value instead")
    generate.set_defaults(func=cmd_keys_generate)
    rotate = keys.add_parser("rotate", help="re-encrypt stored personal data under the current (first) key")
    rotate.add_argument("--batch-size", type=int, default=500)
    rotate.set_defaults(func=cmd_keys_rotate)
    add_signing_commands(keys)  # gateway keys signing list|generate|rotate|retire (OAuth token keys)

    tenant = commands.add_parser("tenant", help="manage tenants").add_subparsers(dest="tenant_command", required=True)
    create = tenant.add_parser("create", help="create a tenant and its first operator key")
    create.add_argument("name")
    create.add_argument("--json", action="store_true", help="print {tenant, operator_key} as JSON")
    create.set_defaults(func=cmd_tenant_create)
    return root


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] != ["serve"]:
        # the components' commands, jobs and tables. Not for `serve`: its workers import the app
        # (gateway.asgi), and this process must not import prometheus-client before it has set
        # the workers' shared metrics directory
        components.load()
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()  # every command refuses bad settings before it does anything
        if (settings.data_keys or settings.index_key) and args.func is not cmd_keys_generate:
            load_keyring(settings)  # malformed keys too (generating a new key needs none)
        return int(args.func(args))
    except (KeyConfigError, SettingsError) as error:
        print(f"gateway: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
