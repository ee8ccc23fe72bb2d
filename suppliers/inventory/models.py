"""The inventory ledger (DESIGN §5): levels, and the movements that explain them."""

from piccolo.columns import BigInt, Timestamptz, Varchar
from piccolo.table import Table


class InventoryLevel(Table, tablename="inventory_levels"):
    """One row per (location, sku); every change to it has a movement in the same transaction."""

    id = Varchar(length=40, primary_key=True)
    tenant_id = Varchar(length=40)
    supplier_id = Varchar(length=40)
    location_id = Varchar(length=40)
    sku = Varchar(length=64)
    on_hand = BigInt(default=0)
    reserved = BigInt(default=0)
    committed = BigInt(default=0)
    safety_stock = BigInt(default=0)
    #: the highest supplier `sequence` a `set` applied; older or repeated ones are refused
    last_sequence = BigInt(null=True, default=None)
    updated_at = Timestamptz()


class Movement(Table, tablename="inventory_movements"):
    """Append-only. The sum of a level's movements is the level (`gateway inventory check`)."""

    id = Varchar(length=40, primary_key=True)
    tenant_id = Varchar(length=40)
    supplier_id = Varchar(length=40)
    location_id = Varchar(length=40)
    sku = Varchar(length=64)
    delta_on_hand = BigInt(default=0)
    delta_reserved = BigInt(default=0)
    delta_committed = BigInt(default=0)
    reason = Varchar(length=32)
    #: what caused it: a reservation, order, transfer or the supplier's own reference
    reference = Varchar(length=100, null=True, default=None)
    #: the key id (or "system") that made it
    actor = Varchar(length=40)
    #: unique per tenant when set: a retried adjust item is applied once
    idempotency_key = Varchar(length=300, null=True, default=None)
    at = Timestamptz()


class Reservation(Table, tablename="reservations"):
    """Stock held for a quote until it expires, is released, or becomes an order."""

    id = Varchar(length=40, primary_key=True)
    tenant_id = Varchar(length=40)
    supplier_id = Varchar(length=40)
    location_id = Varchar(length=40)
    sku = Varchar(length=64)
    qty = BigInt()
    #: held, released, committed, expired
    status = Varchar(length=16, default="held")
    reference = Varchar(length=100, null=True, default=None)
    expires_at = Timestamptz()
    created_at = Timestamptz()


class Transfer(Table, tablename="transfers"):
    """Stock on its way between two locations of one supplier."""

    id = Varchar(length=40, primary_key=True)
    tenant_id = Varchar(length=40)
    supplier_id = Varchar(length=40)
    from_location_id = Varchar(length=40)
    to_location_id = Varchar(length=40)
    sku = Varchar(length=64)
    qty = BigInt()
    #: in_transit, received, cancelled
    status = Varchar(length=16, default="in_transit")
    version = BigInt(default=1)
    created_at = Timestamptz()
    updated_at = Timestamptz()
