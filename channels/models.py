"""Channel-side tables."""

from piccolo.columns import Integer, Timestamptz, Varchar
from piccolo.table import Table


class Channel(Table, tablename="channels"):
    id = Varchar(length=40, primary_key=True)
    tenant_id = Varchar(length=40, index=True)
    name = Varchar(length=200)
    kind = Varchar(length=16)
    status = Varchar(length=16, default="active")
    version = Integer(default=1)
    created_at = Timestamptz()
    updated_at = Timestamptz()
