"""Indexes Piccolo columns cannot declare (composite, unique, partial)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.conf.apps import Finder

ID = "2026-11-22T02:52:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "routing indexes"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="routing", description=DESCRIPTION)

    async def create_indexes() -> None:
        engine = Finder().get_engine()
        for statement in (
            "CREATE INDEX location_loads_tenant_location ON location_loads (tenant_id, location_id, day)",
        ):
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
