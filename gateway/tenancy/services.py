"""Tenants and their credentials."""

from __future__ import annotations

from typing import Any

import msgspec

from channels.models import Channel
from gateway.clock import utcnow
from gateway.events.services import emit
from gateway.http.problems import ProblemError, not_found
from gateway.ids import new_id
from gateway.records import get_one, insert_row, list_page, narrowed, update_versioned
from gateway.storage import db
from gateway.tenancy import credentials
from gateway.tenancy.models import ApiKey, Tenant
from gateway.tenancy.principal import KeyKind, OwnerType, Principal
from gateway.tenancy.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    ApiKeyUpdate,
    OwnerOut,
    TenantCreated,
    TenantOut,
)
from suppliers.models import Supplier

KIND = "api key"


def to_out(row: dict[str, Any]) -> ApiKeyOut:
    return ApiKeyOut(
        id=row["id"],
        kind=row["kind"],
        owner=OwnerOut(type=row["owner_type"], id=row["owner_id"]),
        name=row["name"],
        prefix=row["prefix"],
        status=row["status"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        revoked_at=row["revoked_at"],
    )


def _visible(principal: Principal) -> dict[str, Any]:
    """The operator sees every key; a supplier or channel only the keys that act for it."""
    if principal.is_operator:
        return {}
    return {"owner_type": principal.type, "owner_id": principal.owner_id}


async def _insert_key(
    tenant_id: str, owner_type: OwnerType, owner_id: str | None, kind: KeyKind, name: str
) -> tuple[dict[str, Any], str]:
    now = utcnow()
    secret = credentials.generate(kind)
    row = {
        "id": new_id("key"),
        "tenant_id": tenant_id,
        "owner_type": owner_type,
        "owner_id": owner_id,
        "kind": kind,
        "name": name,
        "prefix": secret[: credentials.PREFIX_LENGTH],
        "secret_hash": credentials.digest(secret),
        "status": "active",
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "revoked_at": None,
    }
    await insert_row(ApiKey, row)
    return row, secret


async def check_owner(principal: Principal, owner_type: OwnerType, owner_id: str | None) -> None:
    """The schema already ensures an operator has no id and a party has one; here: may the
    caller act for that owner, and does the owner exist in the caller's tenant?"""
    if not principal.is_operator and (principal.type != owner_type or principal.owner_id != owner_id):
        raise ProblemError(403, "A supplier or channel may create keys only for itself")
    if owner_type == "operator" or owner_id is None:
        return
    table = Supplier if owner_type == "supplier" else Channel
    exists = await table.exists().where((table.tenant_id == principal.tenant_id) & (table.id == owner_id)).run()
    if not exists:
        raise not_found(owner_type, owner_id)


async def create(principal: Principal, body: ApiKeyCreate) -> ApiKeyCreated:
    owner_type: OwnerType = body.owner.__struct_config__.tag  # type: ignore[assignment]
    await check_owner(principal, owner_type, body.owner.id)
    async with db().transaction():
        row, secret = await _insert_key(principal.tenant_id, owner_type, body.owner.id, body.kind, body.name)
        out = to_out(row)
        await emit(principal.tenant_id, "api_key.created", out, **_audience(out))
    return ApiKeyCreated(**msgspec.structs.asdict(out), key=secret)


def _audience(key: ApiKeyOut) -> dict[str, str | None]:
    return {
        "supplier_id": key.owner.id if key.owner.type == "supplier" else None,
        "channel_id": key.owner.id if key.owner.type == "channel" else None,
    }


async def get(principal: Principal, key_id: str) -> ApiKeyOut:
    return to_out(await get_one(ApiKey, KIND, principal.tenant_id, key_id, _visible(principal)))


async def list_(
    principal: Principal,
    limit: int,
    after: str | None,
    owner_type: str | None,
    owner_id: str | None,
    status: str | None,
) -> list[dict[str, Any]]:
    filters = narrowed(_visible(principal), {"owner_type": owner_type, "owner_id": owner_id, "status": status})
    if filters is None:
        return []  # asks for another owner's keys: there are none it may see
    return await list_page(ApiKey, principal.tenant_id, limit, after, filters)


async def update(principal: Principal, key_id: str, body: ApiKeyUpdate) -> ApiKeyOut:
    values = {"name": body.name} if body.name is not msgspec.UNSET else {}
    return await _write(principal, key_id, body.version, values, "api_key.updated")


async def revoke(principal: Principal, key_id: str, version: int | None) -> ApiKeyOut:
    """Revocation is immediate and final: a revoked key never authenticates again."""
    return await _write(principal, key_id, version, {"status": "revoked", "revoked_at": utcnow()}, "api_key.revoked")


async def _write(
    principal: Principal, key_id: str, version: int | None, values: dict[str, Any], event: str
) -> ApiKeyOut:
    async with db().transaction():
        row = await update_versioned(ApiKey, KIND, principal.tenant_id, key_id, version, values, _visible(principal))
        out = to_out(row)
        await emit(principal.tenant_id, event, out, **_audience(out))
    return out


async def create_tenant(name: str) -> TenantCreated:
    """A tenant and its first operator key, together (the CLI's `tenant create`)."""
    now = utcnow()
    tenant: dict[str, Any] = {"id": new_id("ten"), "name": name, "status": "active", "created_at": now}
    async with db().transaction():
        await insert_row(Tenant, tenant)
        _, secret = await _insert_key(tenant["id"], "operator", None, "secret", "initial operator key")
        out = msgspec.convert(tenant, TenantOut)
        await emit(out.id, "tenant.created", out)
    return TenantCreated(tenant=out, operator_key=secret)
