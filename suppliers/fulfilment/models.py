"""Fulfilment orders: one shipment of an order, at one supplier location (DESIGN §7)."""

from piccolo.columns import JSON, BigInt, Integer, Timestamptz, Varchar
from piccolo.table import Table


class FulfilmentOrder(Table, tablename="fulfilment_orders"):
    id = Varchar(length=40, primary_key=True)
    tenant_id = Varchar(length=40)
    order_id = Varchar(length=40)
    channel_id = Varchar(length=40)
    supplier_id = Varchar(length=40)
    location_id = Varchar(length=40)
    mode = Varchar(length=16)
    #: where the consumer collects a pickup (the location itself or a pickup point)
    pickup_location_id = Varchar(length=40, null=True, default=None)
    #: pending, accepted, picking, shipped, ready_for_pickup, delivered, picked_up,
    #: rejected, cancelled, returned
    status = Varchar(length=24, default="pending")
    #: [{"sku", "qty", "unit_price", "wholesale_price", "platform_fee", "channel_margin"}]
    lines = JSON(default="[]")
    currency = Varchar(length=3)
    retail_amount = BigInt(default=0)
    wholesale_amount = BigInt(default=0)
    platform_fee_amount = BigInt(default=0)
    channel_margin_amount = BigInt(default=0)
    delivery_fee_amount = BigInt(default=0)
    #: why it went here: rule, distance, ETA, candidates considered
    routing = JSON(default="{}")
    tier = Varchar(length=8)
    eta_minutes = Integer()
    distance_m = Integer(default=0)
    promised_at = Timestamptz()
    accept_by = Timestamptz()
    #: HMAC of the pickup code; the code itself is shown to the channel only
    pickup_code_hash = Varchar(length=64, null=True, default=None)
    #: the code encrypted (gateway.crypto), so the channel can show it to its consumer again
    pickup_code = Varchar(length=200, null=True, default=None)
    reason = Varchar(length=500, null=True, default=None)
    #: the fulfilment order that took over this one's share after a rejection
    replaced_by = Varchar(length=40, null=True, default=None)
    #: 1 for the first routing of a share, 2 after one re-route, ...
    attempt = Integer(default=1)
    version = Integer(default=1)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    accepted_at = Timestamptz(null=True, default=None)
    shipped_at = Timestamptz(null=True, default=None)
    finished_at = Timestamptz(null=True, default=None)


class SupplierScore(Table, tablename="supplier_scores"):
    """Running counters behind a supplier's scorecard, updated with each fulfilment transition,
    so routing reads a supplier's reliability with one row."""

    id = Varchar(length=40, primary_key=True)  # the supplier id
    tenant_id = Varchar(length=40)
    #: fulfilment orders routed to the supplier
    received = Integer(default=0)
    accepted = Integer(default=0)
    #: total seconds from routing to acceptance, over `accepted`
    acceptance_seconds = BigInt(default=0)
    rejected = Integer(default=0)
    #: finished = delivered, picked up, cancelled or returned after acceptance
    finished = Integer(default=0)
    #: accepted, on time, complete, not cancelled
    perfect = Integer(default=0)
    updated_at = Timestamptz()
