"""Indexes Piccolo columns cannot declare (composite, unique, partial)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.conf.apps import Finder

ID = "2026-11-22T02:52:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "listing indexes"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="listings", description=DESCRIPTION)

    async def create_indexes() -> None:
        engine = Finder().get_engine()
        for statement in (
            "CREATE UNIQUE INDEX listings_channel_sku ON listings (tenant_id, channel_id, sku)",
            "CREATE INDEX listings_tenant_id ON listings (tenant_id, id)",
            "CREATE UNIQUE INDEX listing_prices_version ON listing_prices (tenant_id, listing_id, version)",
        ):
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
