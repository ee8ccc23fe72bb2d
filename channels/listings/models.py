"""What a channel sells: a catalogue SKU at the channel's own retail price."""

from piccolo.columns import BigInt, Boolean, Integer, Timestamptz, Varchar
from piccolo.table import Table


class Listing(Table, tablename="listings"):
    id = Varchar(length=40, primary_key=True)
    tenant_id = Varchar(length=40)
    channel_id = Varchar(length=40)
    sku = Varchar(length=64)
    #: Money: the retail price, integer minor units plus ISO 4217 currency
    price_amount = BigInt()
    currency = Varchar(length=3)
    active = Boolean(default=True)
    #: bumped on every change; every price a listing had is kept in `listing_prices`
    version = Integer(default=1)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class ListingPrice(Table, tablename="listing_prices"):
    """Append-only price history: (listing, version) -> price, so an order's price is explainable."""

    id = Varchar(length=40, primary_key=True)
    tenant_id = Varchar(length=40)
    listing_id = Varchar(length=40)
    version = Integer()
    price_amount = BigInt()
    currency = Varchar(length=3)
    actor = Varchar(length=40)
    at = Timestamptz()
