"""A publishable key names the browser origins it may be used from (DESIGN §13)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import JSON
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-23T20:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "api key allowed origins"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="gateway", description=DESCRIPTION)
    manager.add_column(
        table_class_name="ApiKey",
        tablename="api_keys",
        column_name="allowed_origins",
        db_column_name="allowed_origins",
        column_class_name="JSON",
        column_class=JSON,
        params={
            "default": "[]",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )
    return manager
