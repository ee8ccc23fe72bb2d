from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from gateway.http.fields import Name, Strict, Version
from gateway.http.pagination import Page

ChannelStatus = Literal["active", "inactive"]
ChannelKind = Literal["reseller", "partner_app"]


class ChannelCreate(Strict):
    name: Name
    #: `reseller` sells under its own brand; `partner_app` embeds shopping in another product
    kind: ChannelKind


class ChannelUpdate(Strict):
    version: Version
    name: Name | msgspec.UnsetType = msgspec.UNSET


class ChannelOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    kind: ChannelKind
    status: ChannelStatus
    version: int
    created_at: datetime
    updated_at: datetime


class ChannelPage(Page[ChannelOut]):
    """A page of channels."""
