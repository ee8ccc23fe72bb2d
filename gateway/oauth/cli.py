"""`gateway keys signing …`: the keyring that signs OAuth access tokens (gateway.oauth.keyring).

    gateway keys signing list                 # every key: status, when it started and stopped signing
    gateway keys signing generate             # a `next` key, published in the JWKS but not signing yet
    gateway keys signing rotate               # `next` (or a new key) signs; the current one becomes `previous`
    gateway keys signing retire [KID] [--force]   # stop publishing previous keys whose tokens have expired

Rotate without downtime: `generate`, wait until resource servers have refreshed the JWKS
(its `Cache-Control` says 5 minutes), `rotate`, and `retire` once the old key's tokens have
expired (`GATEWAY_OAUTH_ACCESS_TOKEN_SECONDS` after the rotation). Every running gateway
process picks the change up within seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any


def _run(fn: Callable[[], Awaitable[Any]]) -> Any:
    from gateway.cli import _run as run_with_database
    from gateway.crypto import load_keyring, use_keyring
    from gateway.settings import Settings
    from gateway.storage.migrate import migrate

    use_keyring(load_keyring(Settings.from_env()))  # the data keys seal the private parts

    async def work() -> Any:
        await migrate()
        return await fn()

    return run_with_database(work)


def cmd_list(_: argparse.Namespace) -> int:
    from gateway.oauth import keyring

    for key in _run(keyring.listing):
        print(
            json.dumps(
                {
                    "kid": key.kid,
                    "status": key.status,
                    "created_at": str(key.created_at),
                    "activated_at": str(key.activated_at) if key.activated_at else None,
                    "deactivated_at": str(key.deactivated_at) if key.deactivated_at else None,
                    "retired_at": str(key.retired_at) if key.retired_at else None,
                }
            )
        )
    return 0


def cmd_generate(_: argparse.Namespace) -> int:
    from gateway.oauth import keyring

    try:
        kid = _run(keyring.generate)
    except keyring.SigningKeyError as error:
        print(f"gateway: {error}", file=sys.stderr)
        return 1
    print(f"generated {kid}: published in the JWKS, signing after `gateway keys signing rotate`")
    return 0


def cmd_rotate(_: argparse.Namespace) -> int:
    from gateway.oauth import keyring

    async def rotate() -> tuple[str, str | None]:
        await keyring.ensure_current()
        return await keyring.rotate()

    current, previous = _run(rotate)
    print(
        f"{current} signs now" + (f"; {previous} verifies the tokens it signed until they expire" if previous else "")
    )
    return 0


def cmd_retire(args: argparse.Namespace) -> int:
    from gateway.oauth import keyring
    from gateway.settings import Settings

    lifetime = Settings.from_env().oauth_access_token_seconds

    async def retire() -> list[str]:
        return await keyring.retire(args.kid, lifetime, force=args.force)

    try:
        retired = _run(retire)
    except keyring.SigningKeyError as error:
        print(f"gateway: {error}", file=sys.stderr)
        return 1
    print(f"retired {', '.join(retired)}" if retired else "no previous key is ready to retire")
    return 0


def add_commands(keys: Any) -> None:
    """Add `signing …` under `gateway keys`."""
    signing = keys.add_parser("signing", help="the keys that sign OAuth access tokens").add_subparsers(
        dest="signing_command", required=True
    )
    signing.add_parser("list", help="every signing key and its status").set_defaults(func=cmd_list)
    signing.add_parser("generate", help="a new key, published in the JWKS before it signs").set_defaults(
        func=cmd_generate
    )
    signing.add_parser("rotate", help="the next key signs; the current one keeps verifying").set_defaults(
        func=cmd_rotate
    )
    retire = signing.add_parser("retire", help="stop publishing previous keys whose tokens have expired")
    retire.add_argument("kid", nargs="?", help="one previous key (default: every one that is safe to retire)")
    retire.add_argument("--force", action="store_true", help="also a key whose tokens may still be live")
    retire.set_defaults(func=cmd_retire)
