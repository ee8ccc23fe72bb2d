"""Who is calling: derived from the credential, never from the request (DESIGN §3)."""

from __future__ import annotations

from typing import Literal

import msgspec

OwnerType = Literal["operator", "supplier", "channel"]
KeyKind = Literal["secret", "publishable"]


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    tenant_id: str
    type: OwnerType
    #: the supplier's or channel's id; None for the operator
    owner_id: str | None
    key_id: str
    key_kind: KeyKind
    #: a publishable key's allowed browser origins (gateway.http.cors); empty otherwise
    allowed_origins: tuple[str, ...] = ()

    @property
    def is_operator(self) -> bool:
        return self.type == "operator"

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
