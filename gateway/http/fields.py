"""Field types shared by request and response schemas: constraints live in the types, so
they are both enforced and published."""

from __future__ import annotations

from typing import Annotated

import msgspec

#: printable text: no control characters (PostgreSQL cannot store NUL), at least one non-space
TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
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
