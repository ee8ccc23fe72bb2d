"""Statement arithmetic, pure: what a share's money is, whose part is whose, and how a period's
lines add up to its opening and closing balances (DESIGN §15).

A **share** (one fulfilment order) books one entry per line and one for its delivery fee. Each
entry splits exactly: retail = wholesale + platform fee + channel margin (`channels.orders.pricing`
fixed the fee when the order was placed). The consumer pays retail + delivery fee; the supplier
gets wholesale + delivery fee, the channel its margin, the platform its fee. So for every entry

    consumer = supplier + channel + platform

and any sum of entries (a day, a period, everyone's statements together) reconciles to what
consumers paid minus what they got back, to the minor unit. A reversal (cancellation, return,
re-route, a share no location could take over) books the very same entries with the opposite
sign, so nothing is ever recomputed from rows that may have changed since.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import msgspec

#: why money moved: a share opened (sale, or reroute for the share that took over a rejected
#: one); a share reversed (cancellation, return, reroute for the rejected one, unfilled when no
#: location could take a rejected share over: the consumer is refunded)
KINDS = ("sale", "cancellation", "return", "reroute", "unfilled")
PartyType = Literal["supplier", "channel", "platform"]
PARTY_TYPES: tuple[PartyType, ...] = ("supplier", "channel", "platform")


class Amounts(msgspec.Struct, frozen=True):
    """One entry's money, signed minor units."""

    retail: int = 0
    wholesale: int = 0
    platform_fee: int = 0
    channel_margin: int = 0
    delivery_fee: int = 0

    @property
    def consumer(self) -> int:
        return self.retail + self.delivery_fee

    @property
    def supplier(self) -> int:
        return self.wholesale + self.delivery_fee

    def part(self, party_type: PartyType) -> int:
        """The party's part of the entry: what it earns (negative on a reversal)."""
        if party_type == "supplier":
            return self.supplier
        if party_type == "channel":
            return self.channel_margin
        return self.platform_fee

    def balanced(self) -> bool:
        return self.retail == self.wholesale + self.platform_fee + self.channel_margin

    def times(self, sign: int) -> Amounts:
        return Amounts(
            retail=sign * self.retail,
            wholesale=sign * self.wholesale,
            platform_fee=sign * self.platform_fee,
            channel_margin=sign * self.channel_margin,
            delivery_fee=sign * self.delivery_fee,
        )


class Posting(msgspec.Struct, frozen=True):
    """One entry of a share: a line (`sku`, `qty`) or the delivery fee (`sku` None, `qty` 0)."""

    sku: str | None
    qty: int
    amounts: Amounts


def postings_of_share(lines: Sequence[Mapping[str, Any]], delivery_fee: int, sign: int = 1) -> list[Posting]:
    """The entries of a share whose lines are `{"sku", "qty", "unit_price", "wholesale_unit",
    "platform_fee"}` (minor units, as fulfilment orders keep them); `sign` -1 reverses them."""
    if sign not in (1, -1):
        raise ValueError("sign must be 1 or -1")
    postings = []
    for line in lines:
        qty = int(line["qty"])
        retail = qty * int(line["unit_price"])
        wholesale = qty * int(line["wholesale_unit"])
        fee = int(line["platform_fee"])
        amounts = Amounts(retail=retail, wholesale=wholesale, platform_fee=fee, channel_margin=retail - wholesale - fee)
        postings.append(Posting(sku=str(line["sku"]), qty=sign * qty, amounts=amounts.times(sign)))
    if delivery_fee:
        postings.append(Posting(sku=None, qty=0, amounts=Amounts(delivery_fee=delivery_fee).times(sign)))
    return postings


def day_of(at: datetime) -> str:
    """The UTC calendar day statements file an entry under."""
    return (at if at.tzinfo is None else at.astimezone(UTC)).date().isoformat()


def days(first: date, last: date) -> list[str]:
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


class DayTotal(msgspec.Struct, frozen=True):
    day: str
    amount: int
    lines: int


class CurrencyStatement(msgspec.Struct, frozen=True):
    currency: str
    opening: int
    days: list[DayTotal]
    closing: int


def assemble(opening: Mapping[str, int], period: Iterable[tuple[str, str, int, int]]) -> list[CurrencyStatement]:
    """Per currency: the opening balance, the period's (day, currency, amount, lines) totals in
    day order, and the closing balance = opening + every day's amount. Currencies without an
    opening balance or a line in the period are left out."""
    by_currency: dict[str, dict[str, tuple[int, int]]] = {currency: {} for currency in opening}
    for day, currency, amount, lines in period:
        seen = by_currency.setdefault(currency, {})
        before_amount, before_lines = seen.get(day, (0, 0))
        seen[day] = (before_amount + amount, before_lines + lines)
    statements = []
    for currency in sorted(by_currency):
        totals = [DayTotal(day=day, amount=a, lines=n) for day, (a, n) in sorted(by_currency[currency].items())]
        start = opening.get(currency, 0)
        statements.append(
            CurrencyStatement(
                currency=currency, opening=start, days=totals, closing=start + sum(t.amount for t in totals)
            )
        )
    return statements
