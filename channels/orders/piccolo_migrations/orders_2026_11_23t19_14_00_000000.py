"""Orders by creation time: replenishment advice reads the demand of a period (issue 14)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.conf.apps import Finder

ID = "2026-11-23T19:14:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "orders by creation time"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="orders", description=DESCRIPTION)

    async def create_indexes() -> None:
        engine = Finder().get_engine()
        await engine.run_ddl("CREATE INDEX orders_created ON orders (tenant_id, created_at)")

    manager.add_raw(create_indexes)
    return manager
