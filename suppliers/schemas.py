from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from gateway.http.fields import Name, Strict, Version
from gateway.http.pagination import Page

SupplierStatus = Literal["active", "inactive"]


class SupplierCreate(Strict):
    name: Name


class SupplierUpdate(Strict):
    version: Version
    name: Name | msgspec.UnsetType = msgspec.UNSET


class SupplierOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    status: SupplierStatus
    version: int
    created_at: datetime
    updated_at: datetime


class SupplierPage(Page[SupplierOut]):
    """A page of suppliers."""
