"""Request and response shapes of listings: a channel's (sku → retail price), and its price history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from gateway.http.fields import Sku, Strict, Version
from gateway.http.pagination import Page
from gateway.ids import pattern
from gateway.money import Money

ChannelId = Annotated[str, msgspec.Meta(pattern=pattern("chn"))]


class ListingCreate(Strict, kw_only=True):
    sku: Sku
    #: what the channel's consumers pay; some active offer must be able to fill it without a loss
    price: Money
    active: bool = True
    #: the owner: a channel leaves it out (or names itself); the operator must name one
    channel_id: ChannelId | None = None


class ListingUpdate(Strict, kw_only=True):
    version: Version
    price: Money | msgspec.UnsetType = msgspec.UNSET


class ListingOut(msgspec.Struct, kw_only=True):
    id: str
    channel_id: str
    sku: str
    price: Money
    #: only an active listing can be quoted and ordered
    active: bool
    #: bumped by every change; the price history (`…/prices`) names the version each price took effect
    version: int
    created_at: datetime
    updated_at: datetime


class ListingPage(Page[ListingOut]):
    """A page of listings."""


class ListingPriceOut(msgspec.Struct, kw_only=True):
    """One price a listing had: in effect from `version` until the next entry's version."""

    listing_id: str
    version: int
    price: Money
    #: the credential (key id) that set it
    actor: str
    at: datetime


class ListingPricePage(Page[ListingPriceOut]):
    """A page of a listing's price history, newest first; `next_cursor` is a version."""
