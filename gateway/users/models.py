"""People who log in: the operator's staff, a supplier's or a channel's (DESIGN §9)."""

from piccolo.columns import Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class User(Table, tablename="users"):
    """A person of one party of a tenant. `email` is stored lower-cased and is unique in the
    tenant (index in the migration); `password_hash` is an Argon2id hash, never returned."""

    id = Varchar(length=40, primary_key=True)
    tenant_id = Varchar(length=40)
    owner_type = Varchar(length=16)
    owner_id = Varchar(length=40, null=True, default=None)
    email = Varchar(length=254)
    name = Varchar(length=200, default="")
    #: the language of the login and consent pages when the browser does not say
    locale = Varchar(length=8, default="en")
    password_hash = Text()
    status = Varchar(length=16, default="active")
    version = Integer(default=1)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    password_changed_at = Timestamptz()
