"""Tenants and API keys."""

from piccolo.columns import JSON, BigInt, Integer, Timestamptz, Varchar
from piccolo.table import Table


class Tenant(Table, tablename="tenants"):
    id = Varchar(length=40, primary_key=True)
    name = Varchar(length=200)
    status = Varchar(length=16, default="active")
    created_at = Timestamptz()


class ApiKey(Table, tablename="api_keys"):
    """A credential. Only the SHA-256 of the secret is kept; `prefix` identifies it to people."""

    id = Varchar(length=40, primary_key=True)
    tenant_id = Varchar(length=40, index=True)
    owner_type = Varchar(length=16)
    owner_id = Varchar(length=40, null=True, default=None)
    kind = Varchar(length=16)
    name = Varchar(length=200, default="")
    prefix = Varchar(length=16)
    secret_hash = Varchar(length=64, unique=True)
    status = Varchar(length=16, default="active")
    version = Integer(default=1)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    #: a publishable key's allowed browser origins (JSON list of "https://shop.example"); empty
    #: for secret keys. Kept as JSON text: `gateway.tenancy.origins` matches it with LIKE
    allowed_origins = JSON(default="[]")


class CredentialRevision(Table, tablename="credential_revisions"):
    """One row (`id = 'keys'`) whose `revision` grows with every change that can make a cached
    principal wrong (a key revoked or edited, a party deactivated): each process compares it
    with the revision its principal cache was filled under (`gateway.tenancy.credentials`)."""

    id = Varchar(length=16, primary_key=True)
    revision = BigInt(default=0)
