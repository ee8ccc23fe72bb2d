"""Indexes Piccolo columns cannot declare (composite)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.conf.apps import Finder

ID = "2026-11-23T19:15:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "oauth indexes"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="oauth", description=DESCRIPTION)

    async def create_indexes() -> None:
        engine = Finder().get_engine()
        for statement in (
            "CREATE INDEX oauth_clients_tenant_id ON oauth_clients (tenant_id, id)",
            "CREATE INDEX oauth_authorizations_tenant_id ON oauth_authorizations (tenant_id, id)",
            "CREATE INDEX oauth_authorizations_user_client ON oauth_authorizations (tenant_id, user_id, client_id)",
            "CREATE INDEX oauth_codes_expires_at ON oauth_codes (expires_at)",
            "CREATE INDEX oauth_refresh_tokens_expires_at ON oauth_refresh_tokens (expires_at)",
        ):
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
