"""Indexes Piccolo columns cannot declare (composite)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.conf.apps import Finder

ID = "2026-11-23T19:14:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "statement indexes"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="statements", description=DESCRIPTION)

    async def create_indexes() -> None:
        engine = Finder().get_engine()
        for statement in (
            # one per party type: a statement reads its party's rows of a period, in day order
            "CREATE INDEX money_entries_day ON money_entries (tenant_id, day, id)",
            "CREATE INDEX money_entries_supplier ON money_entries (tenant_id, supplier_id, day, id)",
            "CREATE INDEX money_entries_channel ON money_entries (tenant_id, channel_id, day, id)",
            "CREATE INDEX statement_days_party ON statement_days (tenant_id, party_id, day)",
            "CREATE INDEX statement_days_day ON statement_days (tenant_id, day)",
        ):
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
