"""Indexes the locations queries need: Piccolo columns declare single-column indexes only."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.conf.apps import Finder

ID = "2026-11-22T00:46:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "locations indexes"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="locations", description=DESCRIPTION)

    async def create_indexes() -> None:
        engine = Finder().get_engine()
        for statement in (
            "CREATE INDEX locations_tenant_id_id ON locations (tenant_id, id)",
            "CREATE INDEX locations_tenant_supplier ON locations (tenant_id, supplier_id, id)",
        ):
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
