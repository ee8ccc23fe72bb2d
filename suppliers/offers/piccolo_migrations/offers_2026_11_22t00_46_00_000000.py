"""Indexes the offers queries need: Piccolo columns declare single-column indexes only."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.conf.apps import Finder

ID = "2026-11-22T00:46:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "offers indexes"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="offers", description=DESCRIPTION)

    async def create_indexes() -> None:
        engine = Finder().get_engine()
        for statement in (
            "CREATE UNIQUE INDEX offers_tenant_supplier_sku ON offers (tenant_id, supplier_id, sku)",
            "CREATE INDEX offers_tenant_sku ON offers (tenant_id, sku)",
            "CREATE INDEX offers_tenant_id_id ON offers (tenant_id, id)",
        ):
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
