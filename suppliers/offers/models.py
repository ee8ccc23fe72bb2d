"""What a supplier sells: (supplier, sku) at a wholesale price."""

from piccolo.columns import BigInt, Boolean, Integer, Timestamptz, Varchar
from piccolo.table import Table


class Offer(Table, tablename="offers"):
    id = Varchar(length=40, primary_key=True)
    tenant_id = Varchar(length=40)
    supplier_id = Varchar(length=40)
    sku = Varchar(length=64)
    #: Money: integer minor units plus ISO 4217 currency
    wholesale_amount = BigInt()
    currency = Varchar(length=3)
    min_retail_amount = BigInt(null=True, default=None)
    active = Boolean(default=True)
    version = Integer(default=1)
    created_at = Timestamptz()
    updated_at = Timestamptz()
