"""Bring the schema up to date with Piccolo's migrations (the schema's one source)."""

from __future__ import annotations

import contextlib
import os
import sys

from gateway.storage import db


async def migrate() -> None:
    """Apply every pending migration of every app; a no-op when the schema is current.

    Under a lock shared by every process on the database (an advisory lock on PostgreSQL, a file
    lock beside the SQLite file): replicas started together migrate one after the other, and
    each one after the first finds nothing left to do.
    """
    os.environ["PICCOLO_CONF"] = "gateway.piccolo_conf"
    from piccolo.apps.migrations.commands.forwards import run_forwards

    async with db().exclusive("migrations"):
        with contextlib.redirect_stdout(sys.stderr):  # Piccolo reports progress on stdout; ours is for data
            response = await run_forwards(app_name="all")
    if not response.success:
        raise RuntimeError(f"migration failed: {response.message}")
