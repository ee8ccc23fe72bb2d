"""The revision counter every process's principal cache checks (gateway.tenancy.credentials);
its row is made by the first change (an upsert)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import BigInt, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-23T23:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "credential revisions"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="gateway", description=DESCRIPTION)
    manager.add_table(class_name="CredentialRevision", tablename="credential_revisions", schema=None, columns=None)
    manager.add_column(
        table_class_name="CredentialRevision",
        tablename="credential_revisions",
        column_name="id",
        db_column_name="id",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 16,
            "default": "",
            "null": False,
            "primary_key": True,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )
    manager.add_column(
        table_class_name="CredentialRevision",
        tablename="credential_revisions",
        column_name="revision",
        db_column_name="revision",
        column_class_name="BigInt",
        column_class=BigInt,
        params={
            "default": 0,
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
