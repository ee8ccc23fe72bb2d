"""Indexes Piccolo columns cannot declare (composite, unique, partial)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.conf.apps import Finder

ID = "2026-11-22T02:52:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "fulfilment indexes"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="fulfilment", description=DESCRIPTION)

    async def create_indexes() -> None:
        engine = Finder().get_engine()
        for statement in (
            "CREATE INDEX fulfilment_orders_order ON fulfilment_orders (tenant_id, order_id)",
            "CREATE INDEX fulfilment_orders_supplier ON fulfilment_orders (tenant_id, supplier_id, status, id)",
            "CREATE INDEX fulfilment_orders_tenant_id ON fulfilment_orders (tenant_id, id)",
            "CREATE INDEX fulfilment_orders_deadline ON fulfilment_orders (status, accept_by)",
            "CREATE INDEX fulfilment_orders_pickup ON fulfilment_orders (tenant_id, pickup_code_hash) WHERE pickup_code_hash IS NOT NULL",
            "CREATE INDEX supplier_scores_tenant ON supplier_scores (tenant_id, id)",
        ):
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
