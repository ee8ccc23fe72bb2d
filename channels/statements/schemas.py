"""Statements and attribution as parties read them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from gateway.http.pagination import Page
from gateway.money import Currency

#: a statement's party: a supplier, a channel, or the platform (its id is the tenant id)
PARTY_PATTERN = r"^(sup|chn|ten)_[0-9a-hjkmnp-tv-z]{26}$"
PartyId = Annotated[str, msgspec.Meta(pattern=PARTY_PATTERN)]
#: signed minor units: a day of refunds, or a balance owed back, is negative
SignedAmount = Annotated[int, msgspec.Meta(ge=-(10**15), le=10**15)]


class SignedMoney(msgspec.Struct, frozen=True):
    """Money that may be negative (a reversal, a net refund): minor units and a currency."""

    amount: SignedAmount
    currency: Currency


class PartyRef(msgspec.Struct, frozen=True):
    type: Literal["supplier", "channel", "platform"]
    id: str


class StatementDayOut(msgspec.Struct, kw_only=True):
    date: date
    #: the party's net amount that day, minor units of the currency
    amount: int
    #: entries that day (order lines, delivery fees and their reversals)
    lines: int


class CurrencyStatementOut(msgspec.Struct, kw_only=True):
    currency: str
    #: everything before `from`
    opening: int
    days: list[StatementDayOut]
    #: opening + every day of the period
    closing: int


class StatementOut(msgspec.Struct, kw_only=True):
    """A party's statement over a period of UTC days, one block per currency it dealt in."""

    party: PartyRef
    from_: date = msgspec.field(name="from")
    to: date
    currencies: list[CurrencyStatementOut]


class StatementPage(Page[StatementOut]):
    """Statements, one per party, by party id."""


class LineSplit(msgspec.Struct, kw_only=True):
    """The entry's money in minor units of its currency: retail = wholesale + platform_fee +
    channel_margin; the consumer paid retail + delivery_fee, the supplier gets wholesale + delivery_fee."""

    retail: int
    wholesale: int
    platform_fee: int
    channel_margin: int
    delivery_fee: int


class StatementLineOut(msgspec.Struct, kw_only=True):
    id: str
    date: date
    at: datetime
    #: sale, cancellation, return, reroute (the share moved: reversed here, booked at the new
    #: location), unfilled (a rejected share no location could take over: refunded)
    kind: Literal["sale", "cancellation", "return", "reroute", "unfilled"]
    order_id: str
    fulfilment_order_id: str
    channel_id: str
    supplier_id: str
    location_id: str
    #: the order line's sku; null for a shipment's delivery fee
    sku: str | None
    #: units, negative when reversed
    qty: int
    #: the party's part of the entry (what the consumer paid when no party is named)
    amount: SignedMoney
    split: LineSplit


class StatementLinePage(Page[StatementLineOut]):
    """Statement lines, by day then id."""


class AttributionTotals(msgspec.Struct, kw_only=True):
    """A period's net money (sales minus reversals) in minor units of `currency`."""

    currency: str
    #: what consumers paid for the goods (retail)
    revenue: int
    #: what the supplier is paid for them
    wholesale_cost: int
    channel_margin: int
    platform_fee: int
    delivery_fees: int
    #: units sold, net of units given back
    units: int
    #: orders with an entry in the period
    orders: int


class AttributionOut(msgspec.Struct, kw_only=True):
    #: the location that filled the lines (with group_by=location), and its supplier
    location_id: str | None = None
    supplier_id: str | None = None
    #: the channel that sold them (with group_by=channel)
    channel_id: str | None = None
    totals: list[AttributionTotals]


class AttributionPage(Page[AttributionOut]):
    """Per-store (or per-channel) attribution, by id."""
