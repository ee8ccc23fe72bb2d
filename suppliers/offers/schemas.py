"""Request and response shapes of offers: a supplier's (sku → wholesale price)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from gateway.http.fields import Sku, Strict, Version
from gateway.http.pagination import Page
from gateway.ids import pattern
from gateway.money import Money

SupplierId = Annotated[str, msgspec.Meta(pattern=pattern("sup"))]


class OfferCreate(Strict, kw_only=True):
    sku: Sku
    wholesale_price: Money
    #: the lowest retail price a channel may list the SKU at: same currency, not below wholesale
    min_retail_price: Money | None = None
    active: bool = True
    #: the owner: a supplier leaves it out (or names itself); the operator must name one
    supplier_id: SupplierId | None = None


class OfferUpdate(Strict, kw_only=True):
    version: Version
    wholesale_price: Money | msgspec.UnsetType = msgspec.UNSET
    #: `null` removes the floor
    min_retail_price: Money | msgspec.UnsetType | None = msgspec.UNSET


class OfferOut(msgspec.Struct, kw_only=True):
    id: str
    supplier_id: str
    sku: str
    wholesale_price: Money
    min_retail_price: Money | None
    #: only an active offer lets the supplier stock and sell the SKU
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime


class OfferPage(Page[OfferOut]):
    """A page of offers."""
