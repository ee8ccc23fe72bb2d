"""Indexes Piccolo columns cannot declare (composite, unique, partial)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.conf.apps import Finder

ID = "2026-11-22T02:52:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "routing index reload"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="locations", description=DESCRIPTION)

    async def create_indexes() -> None:
        engine = Finder().get_engine()
        for statement in (
            "CREATE INDEX locations_tenant_revision ON locations (tenant_id, revision)",
        ):
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
