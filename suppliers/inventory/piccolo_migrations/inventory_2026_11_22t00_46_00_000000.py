"""Indexes the inventory queries need: Piccolo columns declare single-column indexes only."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.conf.apps import Finder

ID = "2026-11-22T00:46:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "inventory indexes"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="inventory", description=DESCRIPTION)

    async def create_indexes() -> None:
        engine = Finder().get_engine()
        for statement in (
            "CREATE UNIQUE INDEX inventory_levels_location_sku ON inventory_levels (location_id, sku)",
            "CREATE INDEX inventory_levels_tenant_sku ON inventory_levels (tenant_id, sku)",
            "CREATE INDEX inventory_levels_tenant_supplier ON inventory_levels (tenant_id, supplier_id, location_id, sku)",
            "CREATE INDEX inventory_movements_level ON inventory_movements (tenant_id, location_id, sku, id)",
            "CREATE INDEX inventory_movements_tenant_id_id ON inventory_movements (tenant_id, id)",
            "CREATE UNIQUE INDEX inventory_movements_idempotency ON inventory_movements (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL",
            "CREATE INDEX reservations_expiry ON reservations (status, expires_at)",
            "CREATE INDEX reservations_tenant_reference ON reservations (tenant_id, reference)",
            "CREATE INDEX transfers_tenant_supplier ON transfers (tenant_id, supplier_id, id)",
        ):
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
