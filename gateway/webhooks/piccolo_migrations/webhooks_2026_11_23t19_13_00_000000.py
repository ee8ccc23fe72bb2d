"""Indexes Piccolo columns cannot declare, and the fan-out's one row."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.conf.apps import Finder

ID = "2026-11-23T19:13:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "webhook indexes and the fan-out cursor"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="webhooks", description=DESCRIPTION)

    async def create_indexes() -> None:
        engine = Finder().get_engine()
        for statement in (
            "CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, id)",
            "CREATE INDEX webhook_endpoints_enabled ON webhook_endpoints (tenant_id, status)",
            # one delivery per (endpoint, event): the fan-out and redeliveries upsert on it
            "CREATE UNIQUE INDEX webhook_deliveries_endpoint_event ON webhook_deliveries (endpoint_id, event_id)",
            # the claim reads due deliveries in time order; finished ones are not in this index
            "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending'",
            "CREATE INDEX webhook_deliveries_listing ON webhook_deliveries (tenant_id, endpoint_id, id)",
            "CREATE INDEX webhook_deliveries_redeliver ON webhook_deliveries (endpoint_id, status, created_at)",
            "CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id)",
            "CREATE INDEX webhook_attempts_listing ON webhook_attempts (tenant_id, endpoint_id, id)",
            "INSERT INTO webhook_fanout (id, position, event_id) VALUES ('events', 0, '')",
        ):
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
