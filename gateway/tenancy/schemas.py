from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

import msgspec

from gateway.http.fields import Label, Name, Strict, Version
from gateway.http.pagination import Page
from gateway.tenancy.principal import KeyKind, OwnerType

OWNER_ID_PATTERN = r"^(sup|chn)_[0-9a-hjkmnp-tv-z]{26}$"
OwnerId = Annotated[str, msgspec.Meta(pattern=OWNER_ID_PATTERN)]


class Owner(Strict):
    """Whom a credential acts for. The operator has no id; a supplier or channel has its own."""

    type: OwnerType
    id: OwnerId | None = None

    #: published as the schema's `oneOf` (gateway.http.openapi): the rule the service enforces,
    #: so that a client (or a fuzzer) knows that `{"type": "operator", "id": …}` is refused
    __openapi_one_of__: ClassVar[tuple[dict[str, Any], ...]] = (
        {"properties": {"type": {"const": "operator"}, "id": {"type": "null"}}},
        {"properties": {"type": {"enum": ["supplier", "channel"]}, "id": {"type": "string"}}, "required": ["id"]},
    )


class ApiKeyCreate(Strict):
    owner: Owner
    kind: KeyKind = "secret"
    name: Label = ""


class ApiKeyUpdate(Strict):
    version: Version
    name: Label | msgspec.UnsetType = msgspec.UNSET


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
