"""Who is calling: derived from the credential, never from the request (DESIGN §3)."""

from __future__ import annotations

from typing import Literal

import msgspec

OwnerType = Literal["operator", "supplier", "channel"]
KeyKind = Literal["secret", "publishable"]
#: the kind of credential behind a principal: an API key of either kind, or an OAuth access token
CredentialKind = Literal["secret", "publishable", "token"]


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    tenant_id: str
    type: OwnerType
    #: the supplier's or channel's id; None for the operator
    owner_id: str | None
    #: the credential: an API key's id, or for an access token its OAuth client's id (so rate
    #: limits, idempotency and the `actor` of ledger movements name the app that acted)
    key_id: str
    key_kind: CredentialKind
    #: what an access token may do (`gateway.oauth.scopes`, `write:` already implying `read:`);
    #: None for API keys, which carry every scope of their owner
    scopes: frozenset[str] | None = None
    #: for an access token: the OAuth client, and the user who authorised it (code flow)
    client_id: str | None = None
    user_id: str | None = None
    #: a publishable key's allowed browser origins (gateway.http.cors); empty otherwise
    allowed_origins: tuple[str, ...] = ()

    @property
    def is_operator(self) -> bool:
        return self.type == "operator"

    def may(self, scope: str) -> bool:
        """Whether this credential's scopes allow `scope` (always, for an API key)."""
        return self.scopes is None or scope in self.scopes

    def covers(self, scopes: frozenset[str] | None) -> bool:
        """Whether this credential reaches at least as far as `scopes` (None: every scope), so
        that a credential never mints another that reaches further than itself."""
        if self.scopes is None:
            return True
        return scopes is not None and scopes <= self.scopes

    def scope(self, kind: OwnerType) -> str | None:
        """The owner id this principal is confined to for `kind` rows; None when it sees all.

        The operator sees the whole tenant. A supplier sees only its own supplier-owned rows,
        a channel its own channel-owned rows.
        """
        if self.type == "operator":
            return None
        if self.type == kind:
            return self.owner_id
        return ""  # no id is empty: another principal type sees none of these rows
