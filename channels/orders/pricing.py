"""Order money, pure: what each party gets from a line (DESIGN §7).

Integer minor units throughout. The platform's fee is its take rate of the retail amount,
rounded half up to a whole minor unit; the supplier gets its wholesale price; the channel
keeps the rest. So for every line, and therefore every statement,
retail = wholesale + platform fee + channel margin, exactly. A channel that lists below
wholesale plus fee has a negative margin on record rather than a rounding fiction; routing
never sells below wholesale (DESIGN §6).
"""

from __future__ import annotations

import msgspec


class LineSplit(msgspec.Struct, frozen=True):
    retail: int
    wholesale: int
    platform_fee: int
    channel_margin: int


def platform_fee(retail: int, take_rate_bps: int) -> int:
    return (retail * take_rate_bps + 5_000) // 10_000


def split_line(qty: int, unit_price: int, wholesale_unit: int, take_rate_bps: int) -> LineSplit:
    retail = qty * unit_price
    wholesale = qty * wholesale_unit
    fee = platform_fee(retail, take_rate_bps)
    return LineSplit(retail=retail, wholesale=wholesale, platform_fee=fee, channel_margin=retail - wholesale - fee)


def total(splits: list[LineSplit]) -> LineSplit:
    return LineSplit(
        retail=sum(s.retail for s in splits),
        wholesale=sum(s.wholesale for s in splits),
        platform_fee=sum(s.platform_fee for s in splits),
        channel_margin=sum(s.channel_margin for s in splits),
    )
