"""Indexes Piccolo columns cannot declare (composite, unique, partial)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.conf.apps import Finder

ID = "2026-11-22T02:52:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "order indexes"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="orders", description=DESCRIPTION)

    async def create_indexes() -> None:
        engine = Finder().get_engine()
        for statement in (
            "CREATE INDEX quotes_tenant_channel ON quotes (tenant_id, channel_id, id)",
            "CREATE INDEX quotes_expiry ON quotes (status, expires_at)",
            "CREATE INDEX orders_tenant_channel ON orders (tenant_id, channel_id, id)",
            "CREATE INDEX orders_tenant_id ON orders (tenant_id, id)",
            "CREATE INDEX orders_tenant_status ON orders (tenant_id, status, id)",
            "CREATE UNIQUE INDEX orders_idempotency ON orders (tenant_id, channel_id, idempotency_key) WHERE idempotency_key IS NOT NULL",
        ):
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
