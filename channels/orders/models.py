"""Quotes and orders: what a channel's consumer asked for, priced, routed and held."""

from piccolo.columns import JSON, BigInt, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class Quote(Table, tablename="quotes"):
    """A priced, routed offer to sell, with its stock reserved until `expires_at`."""

    id = Varchar(length=40, primary_key=True)
    tenant_id = Varchar(length=40)
    channel_id = Varchar(length=40)
    #: delivery or pickup
    mode = Varchar(length=16)
    #: {"lat", "lng"}
    destination = JSON(default="{}")
    pickup_point_id = Varchar(length=40, null=True, default=None)
    #: [{"sku", "qty", "unit_price"}]
    lines = JSON(default="[]")
    #: the routed shipments with their reservations, money split and routing explanation
    shipments = JSON(default="[]")
    currency = Varchar(length=3)
    subtotal_amount = BigInt()
    delivery_fee_amount = BigInt(default=0)
    total_amount = BigInt()
    #: open, ordered, expired, released
    status = Varchar(length=16, default="open")
    order_id = Varchar(length=40, null=True, default=None)
    expires_at = Timestamptz()
    created_at = Timestamptz()


class Order(Table, tablename="orders"):
    """A consumer's order placed by a channel; its status is derived from its fulfilment orders."""

    id = Varchar(length=40, primary_key=True)
    tenant_id = Varchar(length=40)
    channel_id = Varchar(length=40)
    quote_id = Varchar(length=40, null=True, default=None)
    status = Varchar(length=24, default="pending")
    mode = Varchar(length=16)
    destination = JSON(default="{}")
    pickup_point_id = Varchar(length=40, null=True, default=None)
    #: [{"sku", "qty", "unit_price"}]
    lines = JSON(default="[]")
    currency = Varchar(length=3)
    subtotal_amount = BigInt()
    delivery_fee_amount = BigInt(default=0)
    total_amount = BigInt()
    #: the money split: what suppliers, the channel and the platform get
    supplier_amount = BigInt(default=0)
    channel_margin_amount = BigInt(default=0)
    platform_fee_amount = BigInt(default=0)
    #: the consumer's name, phone and address, encrypted (gateway.crypto); null once erased
    customer = Text(null=True, default=None)
    customer_erased_at = Timestamptz(null=True, default=None)
    #: the channel's reference for the order (its own order number)
    reference = Varchar(length=100, null=True, default=None)
    #: the Idempotency-Key the order was created with: a retry finds this order
    idempotency_key = Varchar(length=255, null=True, default=None)
    version = Integer(default=1)
    created_at = Timestamptz()
    updated_at = Timestamptz()
