"""The outbox: one row per state change, written in the change's own transaction."""

from piccolo.columns import JSON, BigInt, Timestamptz, Varchar
from piccolo.table import Table


class Event(Table, tablename="events"):
    id = Varchar(length=40, primary_key=True)
    tenant_id = Varchar(length=40)
    #: feed order; see `Database.event_position_sql`
    position = BigInt()
    type = Varchar(length=64)
    #: audiences besides the operator: the supplier and/or channel the event concerns
    supplier_id = Varchar(length=40, null=True, default=None)
    channel_id = Varchar(length=40, null=True, default=None)
    data = JSON()
    created_at = Timestamptz()
