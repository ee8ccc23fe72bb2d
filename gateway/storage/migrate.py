"""Bring the schema up to date with Piccolo's migrations (the schema's one source)."""

from __future__ import annotations

import contextlib
import os
import sys


async def migrate() -> None:
    """Apply every pending migration of every app; a no-op when the schema is current."""
    os.environ["PICCOLO_CONF"] = "gateway.piccolo_conf"
    from piccolo.apps.migrations.commands.forwards import run_forwards

    with contextlib.redirect_stdout(sys.stderr):  # Piccolo reports progress on stdout; ours is for data
        response = await run_forwards(app_name="all")
    if not response.success:
        raise RuntimeError(f"migration failed: {response.message}")
