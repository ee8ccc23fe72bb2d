from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from gateway.http.cors import ORIGIN_PATTERN
from gateway.http.fields import Label, Name, Strict, Version
from gateway.http.pagination import Page
from gateway.ids import pattern
from gateway.tenancy.principal import KeyKind, OwnerType

OWNER_ID_PATTERN = r"^(sup|chn)_[0-9a-hjkmnp-tv-z]{26}$"
OwnerId = Annotated[str, msgspec.Meta(pattern=OWNER_ID_PATTERN)]


class OperatorOwner(Strict, tag="operator", tag_field="type"):
    """The tenant's operator: no id."""

    @property
    def id(self) -> None:
        return None


class SupplierOwner(Strict, tag="supplier", tag_field="type"):
    id: Annotated[str, msgspec.Meta(pattern=pattern("sup"))]


class ChannelOwner(Strict, tag="channel", tag_field="type"):
    id: Annotated[str, msgspec.Meta(pattern=pattern("chn"))]


#: whom a credential acts for; `type` tells which (a tagged union, so the contract says that
#: an operator has no id and a supplier or channel must have one)
Owner = OperatorOwner | SupplierOwner | ChannelOwner


Origin = Annotated[
    str,
    msgspec.Meta(
        max_length=200,
        pattern=ORIGIN_PATTERN,
        description="A browser origin, exactly: `https://shop.example` or `https://shop.example:8443` "
        "(lower case, no path). `http://localhost:*` and `http://127.0.0.1:*` (any port) are accepted "
        "and honoured only while GATEWAY_STOREFRONT_ALLOW_LOCALHOST=1.",
    ),
]
AllowedOrigins = Annotated[
    list[Origin],
    msgspec.Meta(
        max_length=20,
        description="Publishable keys only: the origins of the pages that may use this key. "
        "Requests from any other origin are refused, and CORS is answered for these alone.",
    ),
]


class ApiKeyCreate(Strict):
    owner: Owner
    kind: KeyKind = "secret"
    name: Label = ""
    allowed_origins: AllowedOrigins = msgspec.field(default_factory=list)


class ApiKeyUpdate(Strict):
    version: Version
    name: Label | msgspec.UnsetType = msgspec.UNSET
    #: replaces the whole list (publishable keys only)
    allowed_origins: AllowedOrigins | msgspec.UnsetType = msgspec.UNSET


class OwnerOut(msgspec.Struct, kw_only=True):
    type: OwnerType
    id: str | None


class ApiKeyOut(msgspec.Struct, kw_only=True):
    id: str
    kind: KeyKind
    owner: OwnerOut
    name: str
    #: the first characters of the key, to recognise it; the rest is never stored
    prefix: str
    status: Literal["active", "revoked"]
    version: int
    created_at: datetime
    updated_at: datetime
    revoked_at: datetime | None
    #: the browser origins a publishable key may be used from; empty for secret keys
    allowed_origins: list[str] = msgspec.field(default_factory=list)


class ApiKeyCreated(ApiKeyOut, kw_only=True):
    #: the whole key, shown this once
    key: str


class TenantOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    status: str
    created_at: datetime


class TenantCreated(msgspec.Struct, kw_only=True):
    tenant: TenantOut
    operator_key: str


__all__ = ["ApiKeyCreate", "ApiKeyCreated", "ApiKeyOut", "ApiKeyUpdate", "Name", "Owner", "TenantCreated"]


class ApiKeyPage(Page[ApiKeyOut]):
    """A page of apikeys."""
