"""`gateway-sdk`: the SDK on the command line, for cron jobs and quick checks.

    gateway-sdk stock push counts.csv           # exit 0 all in, 1 some rows refused, 2 failed
    gateway-sdk stock pull --location-id loc_… > levels.csv
    gateway-sdk orders place --line MILK-1L:2 --lat 30.26 --lng 120.16
    gateway-sdk fulfilment list --status pending
    gateway-sdk fulfilment accept ful_…
    gateway-sdk fulfilment ship ful_…
    gateway-sdk events tail --after evt_… [--once]
    gateway-sdk webhooks verify --secret whsec_… --header 'webhook-id: …' … < body.json

Credentials: `--api-key` or `GATEWAY_API_KEY`, or an OAuth client with `--client-id` and
`--client-secret` (or `GATEWAY_CLIENT_ID`, `GATEWAY_CLIENT_SECRET`, `GATEWAY_SCOPE`); the
gateway at `--url` or `GATEWAY_URL`.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sdk._core import RetryPolicy
from sdk._sync_client import Gateway
from sdk.errors import APIError, GatewayError, WebhookVerificationError
from sdk.models import Destination, Line
from sdk.stock import DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE, RowResult, SyncReport, read_rows
from sdk.webhooks import verify_webhook

OK, REFUSED, FAILED = 0, 1, 2

# a cron job's log is not a terminal: wide enough that the tables do not wrap
_out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
_err = Console(stderr=True, highlight=False)


def _client(args: argparse.Namespace) -> Gateway:
    return Gateway(
        api_key=args.api_key,
        client_id=args.client_id,
        client_secret=args.client_secret,
        scope=args.scope,
        base_url=args.url,
        timeout=args.timeout,
        retry=RetryPolicy(max_retries=args.retries),
    )


def _print_json(value: Any) -> None:
    sys.stdout.write(msgspec.json.encode(value).decode() + "\n")


# -- stock ---------------------------------------------------------------------------------------


def stock_push(args: argparse.Namespace) -> int:
    rows = list(read_rows(args.file))
    report = SyncReport()
    started = time.perf_counter()
    with (
        _client(args) as client,
        Progress(
            TextColumn("stock push"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("rows"),
            TimeElapsedColumn(),
            console=_err,
            disable=args.quiet,
        ) as progress,
    ):
        task = progress.add_task("push", total=len(rows))
        for batch in client.inventory.iter_sync(rows, batch_size=args.batch_size):
            report.add(batch)
            progress.advance(task, batch.rows)
    elapsed = time.perf_counter() - started
    report.finish()
    if args.json:
        _print_json(
            {
                "rows": report.rows,
                "applied": report.applied,
                "unchanged": report.unchanged,
                "refused": report.refused,
                "batches": report.batches,
                "seconds": round(elapsed, 3),
                "refusals": report.refusals,
            }
        )
    else:
        _summary(report, elapsed, args.file, args.show)
    if args.refused_csv:
        _write_refusals(Path(args.refused_csv), report.refusals)
    return REFUSED if report.refused else OK


def _line_of(file: str, row: int) -> str:
    """Where a row is in its file, as a person looks for it: CSV line (after the header) or item."""
    return f"line {row + 2}" if file.lower().endswith(".csv") else f"item {row + 1}"


def _summary(report: SyncReport, elapsed: float, file: str, show: int) -> None:
    rate = report.rows / elapsed if elapsed > 0 else 0.0
    totals = Table(title=f"stock push {file}", show_header=True)
    for column in ("rows", "applied", "unchanged", "refused", "batches", "seconds", "rows/s"):
        totals.add_column(column, justify="right")
    totals.add_row(
        f"{report.rows:,}",
        f"{report.applied:,}",
        f"{report.unchanged:,}",
        f"{report.refused:,}",
        str(report.batches),
        f"{elapsed:.2f}",
        f"{rate:,.0f}",
    )
    _out.print(totals)
    refusals = report.refusals
    if not refusals:
        return
    table = Table(title=f"refused rows ({len(refusals):,})")
    for column in ("where", "location_id", "sku", "code", "message"):
        table.add_column(column)
    for result in refusals[:show]:
        table.add_row(
            _line_of(file, result.row), result.location_id, result.sku, result.code or "", result.message or ""
        )
    _out.print(table)
    if len(refusals) > show:
        _out.print(f"… and {len(refusals) - show:,} more refused rows (--refused-csv FILE writes them all)")


def _write_refusals(path: Path, refusals: Sequence[RowResult]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "location_id", "sku", "code", "message"])
        for result in refusals:
            writer.writerow([result.row, result.location_id, result.sku, result.code, result.message])


def stock_pull(args: argparse.Namespace) -> int:
    fields = ["location_id", "sku", "on_hand", "reserved", "committed", "safety_stock", "available", "last_sequence"]
    with _client(args) as client:
        levels = client.inventory.iter_levels(location_id=args.location_id, sku=args.sku)
        if args.format == "json":
            _print_json(list(levels))
            return OK
        writer = csv.writer(sys.stdout)
        writer.writerow(fields)
        for level in levels:
            writer.writerow([getattr(level, field) for field in fields])
    return OK


# -- orders and fulfilment -----------------------------------------------------------------------


def _line(text: str) -> Line:
    sku, _, qty = text.rpartition(":")
    if not sku or not qty.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: expected SKU:QTY")
    return Line(sku=sku, qty=int(qty))


def orders_place(args: argparse.Namespace) -> int:
    with _client(args) as client:
        order = client.orders.create(
            lines=args.line,
            destination=Destination(lat=args.lat, lng=args.lng),
            mode=args.mode,
            reference=args.reference,
            channel_id=args.channel_id,
            idempotency_key=args.idempotency_key,
        )
    _print_json(order)
    return OK


def orders_get(args: argparse.Namespace) -> int:
    with _client(args) as client:
        _print_json(client.orders.get(args.id))
    return OK


def fulfilment_list(args: argparse.Namespace) -> int:
    with _client(args) as client:
        for job in client.fulfilment_orders.iter(status=args.status, location_id=args.location_id):
            _print_json(job)
    return OK


def fulfilment_act(args: argparse.Namespace) -> int:
    with _client(args) as client:
        resource = client.fulfilment_orders
        job = (
            resource.reject(args.id, args.reason)
            if args.action == "reject"
            else getattr(resource, args.action)(args.id)
        )
    _print_json(job)
    return OK


# -- events and webhooks -------------------------------------------------------------------------


def events_tail(args: argparse.Namespace) -> int:
    with _client(args) as client:
        for event in client.events.tail(
            after=args.after, type=args.type, poll_interval=args.interval, stop_when_idle=args.once
        ):
            _print_json(event)
            sys.stdout.flush()
    return OK


def webhooks_verify(args: argparse.Namespace) -> int:
    secret = args.secret or os.environ.get("GATEWAY_WEBHOOK_SECRET")
    if not secret:
        _err.print("webhooks verify: --secret or GATEWAY_WEBHOOK_SECRET is needed")
        return FAILED
    headers: dict[str, str] = {}
    for header in args.header:
        name, _, value = header.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = Path(args.body).read_bytes() if args.body and args.body != "-" else sys.stdin.buffer.read()
    try:
        event = verify_webhook(body, headers, secret, tolerance=args.tolerance)
    except WebhookVerificationError as error:
        _err.print(f"invalid: {error}")
        return REFUSED
    _print_json(event)
    return OK


# -- the parser ----------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="gateway-sdk", description="The commerce gateway from the command line.")
    top.add_argument("--url", help="the gateway (default: GATEWAY_URL, else http://127.0.0.1:8000)")
    top.add_argument("--api-key", help="a secret key (default: GATEWAY_API_KEY)")
    top.add_argument("--client-id", help="an OAuth client (default: GATEWAY_CLIENT_ID)")
    top.add_argument("--client-secret", help="its secret (default: GATEWAY_CLIENT_SECRET)")
    top.add_argument("--scope", help="scopes to ask for (default: GATEWAY_SCOPE, else all the client's)")
    top.add_argument("--timeout", type=float, default=60.0, help="seconds per attempt (default 60)")
    top.add_argument("--retries", type=int, default=4, help="retries of a failed call (default 4; 0: none)")
    groups = top.add_subparsers(dest="group", required=True)

    stock = groups.add_parser("stock", help="push or pull stock levels").add_subparsers(dest="command", required=True)
    push = stock.add_parser("push", help="set counted stock from a CSV or JSON file")
    push.add_argument("file", help="CSV (location_id,sku,on_hand[,sequence][,safety_stock]), .json or .jsonl")
    push.add_argument(
        "--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help=f"rows per request (max {MAX_BATCH_SIZE})"
    )
    push.add_argument("--show", type=int, default=20, help="refused rows to list (default 20)")
    push.add_argument("--refused-csv", help="write every refused row to this CSV file")
    push.add_argument("--json", action="store_true", help="print the summary as JSON")
    push.add_argument("--quiet", action="store_true", help="no progress bar")
    push.set_defaults(run=stock_push)
    pull = stock.add_parser("pull", help="print stock levels as CSV (or JSON)")
    pull.add_argument("--location-id")
    pull.add_argument("--sku")
    pull.add_argument("--format", choices=["csv", "json"], default="csv")
    pull.set_defaults(run=stock_pull)

    orders = groups.add_parser("orders", help="place and read orders").add_subparsers(dest="command", required=True)
    place = orders.add_parser("place", help="place an order (lines and a destination)")
    place.add_argument("--line", type=_line, action="append", required=True, help="SKU:QTY (repeat for more lines)")
    place.add_argument("--lat", type=float, required=True)
    place.add_argument("--lng", type=float, required=True)
    place.add_argument("--mode", choices=["delivery", "pickup"], default="delivery")
    place.add_argument("--reference", help="your order number")
    place.add_argument("--channel-id", help="the channel (an operator key must name one)")
    place.add_argument("--idempotency-key", help="the same key again returns the same order")
    place.set_defaults(run=orders_place)
    get = orders.add_parser("get", help="print an order")
    get.add_argument("id")
    get.set_defaults(run=orders_get)

    fulfilment = groups.add_parser("fulfilment", help="a supplier's fulfilment orders").add_subparsers(
        dest="command", required=True
    )
    listing = fulfilment.add_parser("list", help="fulfilment orders, one JSON per line")
    listing.add_argument("--status")
    listing.add_argument("--location-id")
    listing.set_defaults(run=fulfilment_list)
    for action in ("accept", "pick", "ship", "ready_for_pickup", "deliver", "reject"):
        command = fulfilment.add_parser(action.replace("_", "-"), help=f"{action.replace('_', ' ')} a fulfilment order")
        command.add_argument("id")
        if action == "reject":
            command.add_argument("--reason", required=True)
        command.set_defaults(run=fulfilment_act, action=action)

    events = groups.add_parser("events", help="the event feed").add_subparsers(dest="command", required=True)
    tail = events.add_parser("tail", help="print events after --after, then follow new ones")
    tail.add_argument("--after", help="an event id: start after it")
    tail.add_argument("--type", help="only this event type")
    tail.add_argument("--interval", type=float, default=2.0, help="seconds between polls")
    tail.add_argument("--once", action="store_true", help="stop when caught up instead of following")
    tail.set_defaults(run=events_tail)

    hooks = groups.add_parser("webhooks", help="webhook helpers").add_subparsers(dest="command", required=True)
    verify = hooks.add_parser("verify", help="verify a delivery's signature (exit 0 valid, 1 not)")
    verify.add_argument("--secret", help="whsec_… (default: GATEWAY_WEBHOOK_SECRET)")
    verify.add_argument(
        "--header", action="append", default=[], help="'name: value' (webhook-id, -timestamp, -signature)"
    )
    verify.add_argument("--body", help="file with the raw body (default: stdin)")
    verify.add_argument("--tolerance", type=int, default=300, help="seconds of clock difference allowed")
    verify.set_defaults(run=webhooks_verify)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except APIError as problem:
        _err.print(f"gateway-sdk: {problem.status} {problem.title}: {problem.detail or ''} ({problem.type})")
        for error in problem.errors:
            _err.print(f"  {error.get('field')}: {error.get('message')}")
        return FAILED
    except (GatewayError, ValueError, OSError) as error:
        _err.print(f"gateway-sdk: {error}")
        return FAILED
    return code


if __name__ == "__main__":
    sys.exit(main())
