"""Indexes Piccolo columns cannot declare (composite)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.conf.apps import Finder

ID = "2026-11-23T19:18:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "storefront indexes"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="storefront", description=DESCRIPTION)

    async def create_indexes() -> None:
        engine = Finder().get_engine()
        for statement in (
            # the caps count a key's and an address's carts that have not expired yet
            "CREATE INDEX storefront_carts_key ON storefront_carts (tenant_id, key_id, expires_at)",
            "CREATE INDEX storefront_carts_address ON storefront_carts (tenant_id, client_address, expires_at)",
            "CREATE INDEX storefront_carts_tenant ON storefront_carts (tenant_id, channel_id, id)",
            "CREATE INDEX storefront_carts_tenant_id ON storefront_carts (tenant_id, id)",
            "CREATE INDEX storefront_demo_shops_created ON storefront_demo_shops (created_at)",
        ):
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
