"""Money: integer minor units and an ISO 4217 currency (DESIGN §3). Never floats."""

from __future__ import annotations

from typing import Annotated

import msgspec

Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. CNY")]
#: minor units (fen, cents); up to 10^15 keeps every sum inside a signed 64-bit integer
Amount = Annotated[int, msgspec.Meta(ge=0, le=10**15)]


class Money(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    amount: Amount
    currency: Currency
