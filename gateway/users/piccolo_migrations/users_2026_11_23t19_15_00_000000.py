"""Indexes Piccolo columns cannot declare (composite, unique)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.conf.apps import Finder

ID = "2026-11-23T19:15:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "user indexes"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="users", description=DESCRIPTION)

    async def create_indexes() -> None:
        engine = Finder().get_engine()
        for statement in (
            "CREATE UNIQUE INDEX users_email ON users (tenant_id, email)",
            "CREATE INDEX users_tenant_id ON users (tenant_id, id)",
        ):
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
