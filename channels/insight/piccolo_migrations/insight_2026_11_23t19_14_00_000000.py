"""Indexes Piccolo columns cannot declare (composite)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.conf.apps import Finder

ID = "2026-11-23T19:14:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "insight indexes"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="insight", description=DESCRIPTION)

    async def create_indexes() -> None:
        engine = Finder().get_engine()
        await engine.run_ddl("CREATE INDEX demand_refusals_at ON demand_refusals (tenant_id, at)")

    manager.add_raw(create_indexes)
    return manager
