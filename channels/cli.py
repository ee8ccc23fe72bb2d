"""The channel side's commands: `gateway statements check` and `gateway coverage`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import msgspec

from gateway import cli


def cmd_statements_check(_: argparse.Namespace) -> int:
    """The money journal adds up, for every fulfilment order, to the money it stands for; exit 1 otherwise."""
    from channels.statements.services import check

    broken = cli.run(check)
    if broken:
        print(json.dumps({"consistent": False, "fulfilment_orders": broken}, default=str, indent=2))
        return 1
    print(json.dumps({"consistent": True}))
    return 0


def cmd_coverage(args: argparse.Namespace) -> int:
    """Where SKUs can be promised now, as a picture (SVG) and optionally GeoJSON."""
    from channels.insight.coverage import coverage_map, picture
    from gateway.demo import DEMO_TENANT
    from gateway.storage import db

    async def run() -> Any:
        tenant = args.tenant
        if tenant is None:
            rows = await db().fetch("SELECT id FROM tenants WHERE name = ? ORDER BY id DESC LIMIT 1", DEMO_TENANT)
            if not rows:
                return None
            tenant = rows[0]["id"]
        return await coverage_map(tenant, args.sku, args.qty, args.channel, args.resolution)

    try:
        made = cli.run(run)
    except Exception as error:  # a problem (unknown sku, not listed): say it, exit 1
        print(f"gateway coverage: {getattr(error, 'detail', error)}", file=sys.stderr)
        return 1
    if made is None:
        print("gateway coverage: no demo tenant; name one with --tenant", file=sys.stderr)
        return 1
    coverage, markers = made
    Path(args.out).write_text(picture(coverage, markers))
    if args.geojson:
        Path(args.geojson).write_bytes(msgspec.json.encode(coverage))
    counts = ", ".join(f"{bucket}: {n}" for bucket, n in coverage.counts.items())
    print(f"wrote {args.out}: {len(coverage.features)} of {coverage.cells_evaluated} cells ({counts})", file=sys.stderr)
    return 0


@cli.command
def add_commands(commands: Any) -> None:
    statements = commands.add_parser("statements", help="statement tools").add_subparsers(
        dest="statements_command", required=True
    )
    statements.add_parser(
        "check", help="verify the money journal against every fulfilment order (exit 1 if not)"
    ).set_defaults(func=cmd_statements_check)

    cover = commands.add_parser("coverage", help="map where SKUs can be promised now (SVG, GeoJSON)")
    cover.add_argument("sku", nargs="+", help="a SKU; several make a basket")
    cover.add_argument("--out", default="coverage.svg", help="the picture to write (SVG)")
    cover.add_argument("--geojson", help="also write the cells as GeoJSON here")
    cover.add_argument("--tenant", help="tenant id (default: the latest demo tenant)")
    cover.add_argument("--channel", help="price at this channel's listings (default: every active offer)")
    cover.add_argument("--qty", type=int, default=1, help="units of each SKU")
    cover.add_argument("--resolution", type=int, choices=range(5, 11), help="H3 resolution (default: fits the area)")
    cover.set_defaults(func=cmd_coverage)
