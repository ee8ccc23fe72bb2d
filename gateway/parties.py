"""The parties of a tenant's network, suppliers and channels, share one life cycle:
created by the operator, read by the operator or by themselves, renamed with a `version`,
deactivated and reactivated; each change with its event. This is that life cycle once."""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

import msgspec
from piccolo.table import Table

from gateway.clock import utcnow
from gateway.events.services import emit
from gateway.ids import new_id
from gateway.oauth import revocation
from gateway.records import get_one_as, insert_row, list_page, update_versioned
from gateway.storage import db
from gateway.tenancy import credentials, owners
from gateway.tenancy.principal import Principal

Out = TypeVar("Out", bound=msgspec.Struct)
PartyKind = Literal["supplier", "channel"]


class Parties(Generic[Out]):
    def __init__(self, table: type[Table], kind: PartyKind, prefix: str, out: type[Out]) -> None:
        self.table = table
        self.kind = kind
        self.prefix = prefix
        self.out = out
        owners.register(kind, table)  # keys, users and clients of this kind belong to these rows

    def to_out(self, row: dict[str, Any]) -> Out:
        return msgspec.convert(row, self.out)

    def _visible(self, principal: Principal) -> dict[str, Any]:
        """The operator sees all; a party sees itself; any other principal nothing."""
        scope = principal.scope(self.kind)
        return {} if scope is None else {"id": scope}

    def _audience(self, party_id: str) -> dict[str, str]:
        return {f"{self.kind}_id": party_id}

    async def create(self, principal: Principal, fields: dict[str, Any]) -> Out:
        now = utcnow()
        row = {
            **fields,
            "id": new_id(self.prefix),
            "tenant_id": principal.tenant_id,
            "status": "active",
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        async with db().transaction():
            await insert_row(self.table, row)
            out = self.to_out(row)
            await emit(principal.tenant_id, f"{self.kind}.created", out, **self._audience(row["id"]))
        return out

    async def get(self, principal: Principal, party_id: str) -> Out:
        return await get_one_as(
            self.out, self.table, self.kind, principal.tenant_id, party_id, self._visible(principal)
        )

    async def list(
        self, principal: Principal, limit: int, after: str | None, status: str | None
    ) -> list[dict[str, Any]]:
        filters = self._visible(principal)
        if status is not None:
            filters["status"] = status
        return await list_page(self.table, principal.tenant_id, limit, after, filters)

    async def update(self, principal: Principal, party_id: str, version: int, fields: dict[str, Any]) -> Out:
        return await self._write(principal, party_id, version, fields, f"{self.kind}.updated")

    async def set_status(self, principal: Principal, party_id: str, version: int | None, status: str) -> Out:
        """An inactive party's keys stop authenticating (see `credentials.principal_for`), and so
        do the OAuth access tokens issued for it (gateway.oauth.revocation)."""
        event = f"{self.kind}.activated" if status == "active" else f"{self.kind}.deactivated"
        return await self._write(
            principal, party_id, version, {"status": status}, event, revoke=status != "active", status=True
        )

    async def _write(
        self,
        principal: Principal,
        party_id: str,
        version: int | None,
        fields: dict[str, Any],
        event: str,
        revoke: bool = False,
        status: bool = False,
    ) -> Out:
        async with db().transaction():
            row = await update_versioned(self.table, self.kind, principal.tenant_id, party_id, version, fields)
            if revoke:
                await revocation.revoke([f"party:{party_id}"])
            if status:
                await credentials.changed()  # cached principals of its keys are dropped
            out = self.to_out(row)
            await emit(principal.tenant_id, event, out, **self._audience(party_id))
        return out
