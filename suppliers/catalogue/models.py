"""The tenant-wide catalogue: products and their variants, one `sku` per variant."""

from piccolo.columns import JSON, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class Product(Table, tablename="products"):
    id = Varchar(length=40, primary_key=True)
    tenant_id = Varchar(length=40)
    title = Varchar(length=300)
    description = Text(default="")
    category = Varchar(length=100, null=True, default=None)
    #: draft, active, archived
    status = Varchar(length=16, default="active")
    attributes = JSON(default="{}")
    #: a list of media URLs
    media = JSON(default="[]")
    #: the supplier that created it (only it may edit it); None when the operator did
    supplier_id = Varchar(length=40, null=True, default=None)
    version = Integer(default=1)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Variant(Table, tablename="variants"):
    id = Varchar(length=40, primary_key=True)
    tenant_id = Varchar(length=40)
    product_id = Varchar(length=40)
    #: unique in the tenant: a GTIN or the platform's own code, shared by every supplier carrying it
    sku = Varchar(length=64)
    title = Varchar(length=300)
    options = JSON(default="{}")
    barcode = Varchar(length=64, null=True, default=None)
    weight_grams = Integer(null=True, default=None)
    status = Varchar(length=16, default="active")
    version = Integer(default=1)
    created_at = Timestamptz()
    updated_at = Timestamptz()
