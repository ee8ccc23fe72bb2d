"""Demand the gateway could not serve: every quote or order refused for lack of stock or of a
location, where it was wanted (replenishment advice reads it beside the orders)."""

from piccolo.columns import JSON, DoublePrecision, Timestamptz, Varchar
from piccolo.table import Table


class Refusal(Table, tablename="demand_refusals"):
    id = Varchar(length=40, primary_key=True)
    tenant_id = Varchar(length=40)
    channel_id = Varchar(length=40)
    at = Timestamptz()
    #: quote or order
    source = Varchar(length=16)
    #: out-of-stock (locations here sell it, without the units now) or no-location
    reason = Varchar(length=24)
    mode = Varchar(length=16)
    #: where the consumer wanted it: the destination, or the pickup point's position
    lat = DoublePrecision()
    lng = DoublePrecision()
    #: [{"sku", "qty"}]: what was asked for, and what no location could fill
    lines = JSON(default="[]")
    unfilled = JSON(default="[]")
