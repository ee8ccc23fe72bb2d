"""Where a supplier keeps stock and serves from."""

from piccolo.columns import JSON, BigInt, DoublePrecision, Integer, Timestamptz, Varchar
from piccolo.table import Table


class Location(Table, tablename="locations"):
    id = Varchar(length=40, primary_key=True)
    tenant_id = Varchar(length=40)
    supplier_id = Varchar(length=40)
    name = Varchar(length=200)
    #: store, forward_warehouse, central_warehouse, kitchen, pickup_point
    kind = Varchar(length=32)
    lat = DoublePrecision()
    lng = DoublePrecision()
    address = JSON(default="{}")
    service_radius_km = DoublePrecision(default=0.0)
    #: a list of "delivery" and/or "pickup"
    modes = JSON(default='["delivery"]')
    prep_minutes = Integer(default=0)
    #: {"mon": [["08:00", "20:00"]], ...}; empty means always open
    opening_hours = JSON(default="{}")
    timezone = Varchar(length=64, default="UTC")
    daily_capacity = Integer(null=True, default=None)
    status = Varchar(length=16, default="active")
    version = Integer(default=1)
    #: the tenant's routing revision when this row last changed (channels.routing.index)
    revision = BigInt(default=0)
    created_at = Timestamptz()
    updated_at = Timestamptz()
