"""`gateway inventory check`: every level equals the sum of its movements and none is negative."""

from __future__ import annotations

import argparse
import json
from typing import Any

from gateway import cli
from suppliers.inventory.services import check


def cmd_inventory_check(_: argparse.Namespace) -> int:
    """Exit 1 when some level disagrees with its movements."""
    broken = cli.run(check)
    if broken:
        print(json.dumps({"consistent": False, "levels": broken}, default=str, indent=2))
        return 1
    print(json.dumps({"consistent": True}))
    return 0


@cli.command
def add_commands(commands: Any) -> None:
    inventory = commands.add_parser("inventory", help="inventory ledger tools").add_subparsers(
        dest="inventory_command", required=True
    )
    inventory.add_parser(
        "check", help="verify every level equals the sum of its movements (exit 1 if not)"
    ).set_defaults(func=cmd_inventory_check)
