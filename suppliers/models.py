"""Supplier-side tables."""

from piccolo.columns import Integer, Timestamptz, Varchar
from piccolo.table import Table


class Supplier(Table, tablename="suppliers"):
    id = Varchar(length=40, primary_key=True)
    tenant_id = Varchar(length=40, index=True)
    name = Varchar(length=200)
    status = Varchar(length=16, default="active")
    version = Integer(default=1)
    created_at = Timestamptz()
    updated_at = Timestamptz()
