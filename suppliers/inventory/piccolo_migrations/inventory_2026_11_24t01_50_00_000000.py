"""Room on each page of `inventory_levels` (PostgreSQL) for the new versions its updates write.

Every sale, hold and count updates a level row. With full pages the new version lands on another
page, so every index of the table gets an entry for it, and without a vacuum in between the
stock reads step over the dead ones (a read that grows with each order). With free room on the
page PostgreSQL keeps the new version there ("HOT"): no index entries, and the dead version is
pruned in place the next time the page is read. None of the updated columns is indexed, so a
page with room is all HOT needs. SQLite rewrites rows in place and has no such setting.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.conf.apps import Finder

ID = "2026-11-24T01:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "inventory_levels fillfactor"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="inventory", description=DESCRIPTION)

    async def leave_room() -> None:
        engine = Finder().get_engine()
        if engine.engine_type == "postgres":
            # pages filled from now on keep half their room for updated versions
            await engine.run_ddl("ALTER TABLE inventory_levels SET (fillfactor = 50)")

    manager.add_raw(leave_room)
    return manager
