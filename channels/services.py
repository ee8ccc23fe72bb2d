"""Channels: the companies in a tenant's network."""

from __future__ import annotations

from typing import Any

import msgspec

from channels.models import Channel
from channels.schemas import ChannelCreate, ChannelOut, ChannelUpdate
from gateway.clock import utcnow
from gateway.events.services import emit
from gateway.ids import new_id
from gateway.records import get_one, insert_row, list_page, update_versioned
from gateway.storage import db
from gateway.tenancy.principal import Principal

KIND = "channel"


def to_out(row: dict[str, Any]) -> ChannelOut:
    return msgspec.convert(row, ChannelOut)


def _visible(principal: Principal) -> dict[str, Any]:
    scope = principal.scope("channel")
    return {} if scope is None else {"id": scope}


async def create(principal: Principal, body: ChannelCreate) -> ChannelOut:
    now = utcnow()
    row = {
        "id": new_id("chn"),
        "tenant_id": principal.tenant_id,
        "name": body.name,
        "kind": body.kind,
        "status": "active",
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    async with db().transaction():
        await insert_row(Channel, row)
        out = to_out(row)
        await emit(principal.tenant_id, "channel.created", out, channel_id=out.id)
    return out


async def get(principal: Principal, channel_id: str) -> ChannelOut:
    return to_out(await get_one(Channel, KIND, principal.tenant_id, channel_id, _visible(principal)))


async def list_(principal: Principal, limit: int, after: str | None, status: str | None) -> list[dict[str, Any]]:
    filters = _visible(principal)
    if status is not None:
        filters["status"] = status
    return await list_page(Channel, principal.tenant_id, limit, after, filters)


async def update(principal: Principal, channel_id: str, body: ChannelUpdate) -> ChannelOut:
    values = {"name": body.name} if body.name is not msgspec.UNSET else {}
    return await _write(principal, channel_id, body.version, values, "channel.updated")


async def set_status(principal: Principal, channel_id: str, version: int | None, status: str) -> ChannelOut:
    event = "channel.activated" if status == "active" else "channel.deactivated"
    return await _write(principal, channel_id, version, {"status": status}, event)


async def _write(
    principal: Principal, channel_id: str, version: int | None, values: dict[str, Any], event: str
) -> ChannelOut:
    async with db().transaction():
        row = await update_versioned(Channel, KIND, principal.tenant_id, channel_id, version, values)
        out = to_out(row)
        await emit(principal.tenant_id, event, out, channel_id=out.id)
    return out
