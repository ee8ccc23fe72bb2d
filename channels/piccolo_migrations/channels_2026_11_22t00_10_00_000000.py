"""Composite indexes: Piccolo columns declare single-column indexes only, and lists page
by (tenant_id, id)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.conf.apps import Finder

ID = "2026-11-22T00:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite indexes"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="channels", description=DESCRIPTION)

    async def create_indexes() -> None:
        engine = Finder().get_engine()
        for statement in (
            "CREATE INDEX channels_tenant_id_id ON channels (tenant_id, id)",
        ):
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
