"""Composite indexes: Piccolo columns declare single-column indexes only, and lists page
by (tenant_id, id)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.conf.apps import Finder

ID = "2026-11-22T00:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite indexes"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="gateway", description=DESCRIPTION)

    async def create_indexes() -> None:
        engine = Finder().get_engine()
        for statement in (
            "CREATE INDEX api_keys_tenant_id_id ON api_keys (tenant_id, id)",
            "CREATE INDEX events_feed ON events (tenant_id, position, id)",
            "CREATE INDEX events_supplier_feed ON events (tenant_id, supplier_id, position, id)",
            "CREATE INDEX events_channel_feed ON events (tenant_id, channel_id, position, id)",
        ):
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
