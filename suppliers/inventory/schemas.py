"""Request and response shapes of the inventory ledger (DESIGN §5, §12)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from gateway.http.fields import Label, Sku, Strict
from gateway.http.pagination import Page
from gateway.ids import pattern

LocationId = Annotated[str, msgspec.Meta(pattern=pattern("loc"))]
Quantity = Annotated[int, msgspec.Meta(ge=0, le=10**9)]
PositiveQuantity = Annotated[int, msgspec.Meta(ge=1, le=10**9)]
Delta = Annotated[int, msgspec.Meta(ge=-(10**9), le=10**9)]
Sequence = Annotated[
    int, msgspec.Meta(ge=0, le=2**53 - 1, description="Increasing per (location, sku) on the supplier's side.")
]
Reference = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]
AdjustReason = Literal["received", "correction", "damaged", "returned"]
MAX_BATCH = 10_000


class SetItem(Strict):
    location_id: LocationId
    sku: Sku
    #: the counted, absolute quantity
    on_hand: Quantity
    sequence: Sequence
    #: optional policy: units kept back from sale at this location
    safety_stock: Quantity | None = None


class SetRequest(Strict):
    items: Annotated[list[SetItem], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]


class AdjustItem(Strict):
    location_id: LocationId
    sku: Sku
    delta: Delta
    reason: AdjustReason
    reference: Reference | None = None


class AdjustRequest(Strict):
    items: Annotated[list[AdjustItem], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]


class LevelOut(msgspec.Struct, kw_only=True):
    id: str
    location_id: str
    sku: str
    on_hand: int
    reserved: int
    committed: int
    safety_stock: int
    available: int
    last_sequence: int | None
    updated_at: datetime


class ItemError(msgspec.Struct, kw_only=True):
    #: location_not_found, not_offered, stale_sequence, insufficient_stock
    code: str
    message: str


class ItemResult(msgspec.Struct, kw_only=True, omit_defaults=True):
    index: int
    location_id: str
    sku: str
    #: `unchanged`: the item matched the level already (no movement written; a `set` still
    #: records its sequence)
    status: Literal["applied", "unchanged", "refused"]
    level: LevelOut | None = None
    error: ItemError | None = None


class BatchResult(msgspec.Struct, kw_only=True):
    applied: int
    unchanged: int
    refused: int
    results: list[ItemResult]


class MovementOut(msgspec.Struct, kw_only=True):
    id: str
    location_id: str
    sku: str
    delta_on_hand: int
    delta_reserved: int
    delta_committed: int
    reason: str
    reference: str | None
    actor: str
    at: datetime


class LevelPage(Page[LevelOut]):
    """A page of levels."""


class MovementPage(Page[MovementOut]):
    """A page of movements."""


class TransferCreate(Strict):
    from_location_id: LocationId
    to_location_id: LocationId
    sku: Sku
    qty: PositiveQuantity
    reference: Reference | None = None


class TransferOut(msgspec.Struct, kw_only=True):
    id: str
    supplier_id: str
    from_location_id: str
    to_location_id: str
    sku: str
    qty: int
    status: Literal["in_transit", "received", "cancelled"]
    version: int
    created_at: datetime
    updated_at: datetime


class TransferPage(Page[TransferOut]):
    """A page of transfers."""


class ReservationCreate(Strict):
    location_id: LocationId
    sku: Sku
    qty: PositiveQuantity
    #: seconds until the hold lapses on its own (default 10 minutes)
    ttl_seconds: Annotated[int, msgspec.Meta(ge=1, le=7 * 24 * 3600)] = 600
    reference: Reference | None = None


class ReservationOut(msgspec.Struct, kw_only=True):
    id: str
    location_id: str
    sku: str
    qty: int
    status: Literal["held", "released", "committed", "expired"]
    reference: str | None
    expires_at: datetime
    created_at: datetime


class ReservationPage(Page[ReservationOut]):
    """A page of reservations."""


__all__ = ["Label"]
