"""Indexes the catalogue queries need: Piccolo columns declare single-column indexes only."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.conf.apps import Finder

ID = "2026-11-22T00:46:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "catalogue indexes"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="catalogue", description=DESCRIPTION)

    async def create_indexes() -> None:
        engine = Finder().get_engine()
        for statement in (
            "CREATE UNIQUE INDEX variants_tenant_sku ON variants (tenant_id, sku)",
            "CREATE INDEX variants_tenant_product ON variants (tenant_id, product_id)",
            "CREATE INDEX variants_tenant_id_id ON variants (tenant_id, id)",
            "CREATE INDEX products_tenant_id_id ON products (tenant_id, id)",
            "CREATE INDEX products_tenant_category ON products (tenant_id, category, id)",
            "CREATE INDEX products_tenant_supplier ON products (tenant_id, supplier_id, id)",
            "CREATE INDEX products_tenant_updated ON products (tenant_id, updated_at)",
        ):
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
