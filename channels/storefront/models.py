"""Carts, and the demo shop's page settings."""

from piccolo.columns import Timestamptz, Varchar
from piccolo.table import Table


class Cart(Table, tablename="storefront_carts"):
    """A shopper's cart: a quote (`channels.orders`) held for a short while, with a client
    secret. Its lines, prices, shipments and status are the quote's; this row adds who made it
    (key and client address, for the caps) and the hash of its secret."""

    id = Varchar(length=40, primary_key=True)
    tenant_id = Varchar(length=40)
    channel_id = Varchar(length=40)
    quote_id = Varchar(length=40)
    #: the key that created it (per-key cap)
    key_id = Varchar(length=40)
    #: the client address that created it (per-address cap; an IPv6 address's /64)
    client_address = Varchar(length=64, default="")
    #: SHA-256 of the client secret: the secret itself is shown once, to the shopper's page
    secret_hash = Varchar(length=64)
    #: the quote's expiry, kept here so that counting open carts reads one index range
    expires_at = Timestamptz()
    created_at = Timestamptz()


class DemoShop(Table, tablename="storefront_demo_shops"):
    """What `/demo/shop` shows: the demo channel's publishable key (a public value, on every
    page that embeds it) and the key its tiny backend places orders as (by id: never a secret)."""

    id = Varchar(length=40, primary_key=True)
    tenant_id = Varchar(length=40)
    channel_id = Varchar(length=40)
    publishable_key = Varchar(length=64)
    server_key_id = Varchar(length=40)
    created_at = Timestamptz()
