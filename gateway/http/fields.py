"""Field types shared by request and response schemas: constraints live in the types, so
they are both enforced and published."""

from __future__ import annotations

from typing import Annotated

import msgspec

#: every character Python or JSON Schema engines count as white space, spelled out: `\s`
#: differs between Python's `re` and the fuzzer's ECMA regex (U+0085, U+FEFF), and the
#: contract must mean the same thing to both
SPACES = r"\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
#: printable text: no control characters (PostgreSQL cannot store NUL), at least one visible
TEXT_PATTERN = rf"^[^\x00-\x1f\x7f]*[^{SPACES}\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f]*$"
#: a GTIN or the platform's own code; unique in the tenant, case-sensitive, never changes
SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
Sku = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=64,
        pattern=SKU_PATTERN,
        description="Stock-keeping unit: unique in the tenant (a GTIN or the platform's own code); cannot change.",
    ),
]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=TEXT_PATTERN)]
Label = Annotated[str, msgspec.Meta(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]
Version = Annotated[
    int, msgspec.Meta(ge=1, le=2**31 - 1, description="The version you read; a stale one is refused with 409.")
]


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body: unknown fields are an error, not silently dropped."""


class StatusChange(Strict):
    """Body of `…/activate` and `…/deactivate`: `version` optional, checked when given."""

    version: Version | None = None


def changes(body: msgspec.Struct, *, exclude: tuple[str, ...] = ("version",)) -> dict[str, object]:
    """The fields a PATCH body actually sets (msgspec leaves the others `UNSET`)."""
    return {
        name: value
        for name in body.__struct_fields__
        if name not in exclude and (value := getattr(body, name)) is not msgspec.UNSET
    }
