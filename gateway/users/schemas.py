from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from gateway.http.fields import Label, Strict, Version
from gateway.http.pagination import Page
from gateway.tenancy.schemas import Owner, OwnerOut

#: printable ASCII around one `@` and a dot in the domain; stored lower-cased (ASCII only, so
#: lower-casing never changes the length a column was sized for)
EMAIL_PATTERN = r"^[!-?A-~]+@[!-?A-~]+\.[!-?A-~]+$"
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254, pattern=EMAIL_PATTERN)]
Password = Annotated[
    str,
    msgspec.Meta(
        min_length=10,
        max_length=256,
        description="At least 10 characters. Stored only as an Argon2id hash; never returned.",
    ),
]
Locale = Literal["en", "zh-CN"]
UserStatus = Literal["active", "inactive"]


class UserCreate(Strict):
    email: Email
    password: Password
    #: the party the person belongs to: an app they authorise acts for this party
    owner: Owner
    name: Label = ""
    locale: Locale = "en"


class UserUpdate(Strict):
    version: Version
    email: Email | msgspec.UnsetType = msgspec.UNSET
    password: Password | msgspec.UnsetType = msgspec.UNSET
    name: Label | msgspec.UnsetType = msgspec.UNSET
    locale: Locale | msgspec.UnsetType = msgspec.UNSET


class UserOut(msgspec.Struct, kw_only=True):
    id: str
    email: str
    name: str
    owner: OwnerOut
    locale: Locale
    status: UserStatus
    version: int
    created_at: datetime
    updated_at: datetime
    password_changed_at: datetime


class UserPage(Page[UserOut]):
    """A page of users."""
