"""The money journal and what statements keep of it (DESIGN §15).

`money_entries` is append-only: one row per order line (and per shipment's delivery fee) each
time money moves: a sale when a fulfilment order opens, its reversal when it is cancelled,
returned or re-routed. Rows are never updated, so a statement is a sum over rows, exact and
repeatable. `statement_days` keeps each party's total per closed UTC day, so that opening
balances and long periods read a few hundred rows instead of every line ever sold.
"""

from piccolo.columns import BigInt, Integer, Timestamptz, Varchar
from piccolo.table import Table


class MoneyEntry(Table, tablename="money_entries"):
    id = Varchar(length=40, primary_key=True)
    tenant_id = Varchar(length=40)
    #: when the money moved, and its UTC calendar day (statements group by it)
    at = Timestamptz()
    day = Varchar(length=10)
    #: sale, cancellation, return, reroute, unfilled
    kind = Varchar(length=16)
    order_id = Varchar(length=40)
    fulfilment_order_id = Varchar(length=40)
    channel_id = Varchar(length=40)
    supplier_id = Varchar(length=40)
    location_id = Varchar(length=40)
    #: the line's sku; null on the entry of a shipment's delivery fee
    sku = Varchar(length=64, null=True, default=None)
    #: units, negative on a reversal
    qty = Integer(default=0)
    currency = Varchar(length=3)
    #: signed minor units; retail = wholesale + platform fee + channel margin on every row;
    #: the consumer pays retail + delivery fee, the supplier gets wholesale + delivery fee
    retail_amount = BigInt(default=0)
    wholesale_amount = BigInt(default=0)
    platform_fee_amount = BigInt(default=0)
    channel_margin_amount = BigInt(default=0)
    delivery_fee_amount = BigInt(default=0)


class StatementDay(Table, tablename="statement_days"):
    """One party's total in one currency on one closed day (written once, when the day closes)."""

    #: party id, currency and day: `sup_…:CNY:2026-11-22`
    id = Varchar(length=80, primary_key=True)
    tenant_id = Varchar(length=40)
    day = Varchar(length=10)
    #: supplier, channel or platform (the platform's party id is the tenant id)
    party_type = Varchar(length=16)
    party_id = Varchar(length=40)
    currency = Varchar(length=3)
    amount = BigInt(default=0)
    lines = Integer(default=0)


class StatementClosing(Table, tablename="statement_closings"):
    """The last UTC day of a tenant whose totals are in `statement_days` ('' for none yet)."""

    tenant_id = Varchar(length=40, primary_key=True)
    closed_through = Varchar(length=10, default="")
    updated_at = Timestamptz()
