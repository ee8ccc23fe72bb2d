from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec

from gateway.http.fields import Name, Strict, Version
from gateway.http.pagination import Page
from gateway.oauth.scopes import ALL_SCOPES
from gateway.tenancy.schemas import Owner, OwnerOut

#: one of `gateway.oauth.scopes.ALL_SCOPES` (`read:<area>` / `write:<area>`)
_ScopeName: Any = Literal.__getitem__(ALL_SCOPES)  # type: ignore[attr-defined]
Scope = Annotated[str, msgspec.Meta(description="`read:<area>` or `write:<area>`; `write:` implies `read:`.")]
if not TYPE_CHECKING:  # the published enum of every scope (gateway.oauth.scopes.ALL_SCOPES)
    Scope = Annotated[
        _ScopeName, msgspec.Meta(description="`read:<area>` or `write:<area>`; `write:` implies `read:`.")
    ]
GrantType = Literal["client_credentials", "authorization_code", "refresh_token"]
RedirectUri = Annotated[
    str,
    msgspec.Meta(
        min_length=10,
        max_length=2000,
        # https with a host, or http on a loopback address; no fragment ('#')
        pattern=r'^(https://[A-Za-z0-9.-]+|http://(127\.0\.0\.1|\[::1\]|localhost))(:[0-9]{1,5})?(/[!"$-~]*)?$',
        description="Matched exactly. `https`, or `http` on a loopback address (127.0.0.1, [::1], localhost); "
        "no fragment.",
    ),
]
RedirectUris = Annotated[list[RedirectUri], msgspec.Meta(max_length=10)]
GrantTypes = Annotated[list[GrantType], msgspec.Meta(min_length=1, max_length=3)]
Scopes = Annotated[list[Scope], msgspec.Meta(min_length=1, max_length=len(ALL_SCOPES))]


class OAuthClientCreate(Strict):
    name: Name
    #: who the app belongs to: a client-credentials token acts for this party; an operator's
    #: app may be authorised by users of any party, a party's app only by its own users
    owner: Owner
    grant_types: GrantTypes
    #: the scopes the app may ask for (and gets when it asks for none)
    scopes: Scopes
    redirect_uris: RedirectUris = []
    #: a public client (mobile app, mini-program, single-page app) gets no secret and must use
    #: the authorization code grant with PKCE
    public: bool = False


class OAuthClientUpdate(Strict):
    version: Version
    name: Name | msgspec.UnsetType = msgspec.UNSET
    grant_types: GrantTypes | msgspec.UnsetType = msgspec.UNSET
    scopes: Scopes | msgspec.UnsetType = msgspec.UNSET
    redirect_uris: RedirectUris | msgspec.UnsetType = msgspec.UNSET


class OAuthClientOut(msgspec.Struct, kw_only=True):
    id: str
    #: the OAuth `client_id` (the same as `id`)
    client_id: str
    name: str
    owner: OwnerOut
    public: bool
    grant_types: list[GrantType]
    scopes: list[str]
    redirect_uris: list[str]
    #: `none` for public clients; `client_secret_basic` or `client_secret_post` otherwise
    token_endpoint_auth_method: Literal["client_secret_basic", "none"]
    #: the first characters of the secret, to recognise it; null for public clients
    secret_prefix: str | None
    status: Literal["active", "inactive"]
    version: int
    created_at: datetime
    updated_at: datetime
    secret_rotated_at: datetime | None


class OAuthClientCreated(OAuthClientOut, kw_only=True):
    #: the whole secret, shown this once (null for a public client)
    client_secret: str | None


class OAuthClientPage(Page[OAuthClientOut]):
    """A page of OAuth clients."""


class ClientRef(msgspec.Struct, kw_only=True):
    id: str
    name: str


class AuthorizationOut(msgspec.Struct, kw_only=True):
    """A consent: a user let an app act for the user's party with these scopes."""

    id: str
    user_id: str
    client: ClientRef
    owner: OwnerOut
    scopes: list[str]
    status: Literal["active", "revoked"]
    version: int
    created_at: datetime
    updated_at: datetime
    revoked_at: datetime | None


class AuthorizationPage(Page[AuthorizationOut]):
    """A page of authorizations."""


def owner_out(row: dict[str, Any]) -> OwnerOut:
    return OwnerOut(type=row["owner_type"], id=row["owner_id"])
