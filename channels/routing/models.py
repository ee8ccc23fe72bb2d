"""What routing keeps per tenant: its policy, a revision counter for the location index, and
how many orders each location took per day (its daily capacity)."""

from piccolo.columns import JSON, BigInt, Boolean, Integer, Timestamptz, Varchar
from piccolo.table import Table


class RoutingPolicy(Table, tablename="routing_policies"):
    """A tenant's routing rules and order economics; absent means the defaults."""

    tenant_id = Varchar(length=40, primary_key=True)
    #: rule names in the order they rank candidates (channels.routing.rules)
    rules = JSON(default="[]")
    #: for the `ranked_locations` rule: location ids, most preferred first
    ranked_location_ids = JSON(default="[]")
    #: a fulfilment order not accepted within this many minutes is re-routed
    acceptance_deadline_minutes = Integer(default=15)
    #: the platform's fee, in basis points of the retail amount
    take_rate_bps = Integer(default=500)
    quote_ttl_seconds = Integer(default=600)
    #: may one line's quantity be split across locations when none holds all of it
    split_quantities = Boolean(default=True)
    #: {"near": Money amount, "mid": ..., "far": ...} charged per delivery shipment
    delivery_fees = JSON(default="{}")
    version = Integer(default=1)
    updated_at = Timestamptz()


class RoutingRevision(Table, tablename="routing_revisions"):
    """One row per tenant, bumped in the transaction of every location change: a gateway
    process compares it with its index's revision and reloads only the locations newer."""

    tenant_id = Varchar(length=40, primary_key=True)
    revision = BigInt(default=0)


class LocationLoad(Table, tablename="location_loads"):
    """Fulfilment orders a location took on one local day, against its daily capacity."""

    id = Varchar(length=120, primary_key=True)  # location_id + ":" + day
    tenant_id = Varchar(length=40)
    location_id = Varchar(length=40)
    day = Varchar(length=10)
    orders = Integer(default=0)
