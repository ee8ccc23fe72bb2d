"""Tenants and their credentials."""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.clock import utcnow
from gateway.events.services import emit
from gateway.http.cors import is_localhost_wildcard
from gateway.http.problems import FieldError, ProblemError, not_found
from gateway.ids import new_id
from gateway.oauth.scopes import insufficient_scope
from gateway.records import get_one, insert_row, json_value, list_page, narrowed, update_versioned
from gateway.storage import db
from gateway.tenancy import credentials, origins, owners
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
        allowed_origins=list(json_value(row.get("allowed_origins", "[]")) or []),
    )


def _visible(principal: Principal) -> dict[str, Any]:
    """The operator sees every key; a supplier or channel only the keys that act for it."""
    if principal.is_operator:
        return {}
    return {"owner_type": principal.type, "owner_id": principal.owner_id}


async def _insert_key(
    tenant_id: str,
    owner_type: OwnerType,
    owner_id: str | None,
    kind: KeyKind,
    name: str,
    allowed_origins: list[str] | None = None,
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
        "allowed_origins": msgspec.json.encode(allowed_origins or []).decode(),
    }
    await insert_row(ApiKey, row)
    return row, secret


async def check_owner(principal: Principal, owner_type: OwnerType, owner_id: str | None, what: str = "keys") -> None:
    """The schema already ensures an operator has no id and a party has one; here: may the
    caller act for that owner, and does the owner exist in the caller's tenant? (Also for
    users and OAuth clients, which belong to an owner the same way.)"""
    if not principal.is_operator and (principal.type != owner_type or principal.owner_id != owner_id):
        raise ProblemError(403, f"A supplier or channel may create {what} only for itself")
    if owner_type == "operator" or owner_id is None:
        return
    table = owners.table_of(owner_type)
    if table is None:
        raise not_found(owner_type, owner_id)
    tenant_id, party_id = table._meta.get_column_by_name("tenant_id"), table._meta.get_column_by_name("id")
    exists = await table.exists().where((tenant_id == principal.tenant_id) & (party_id == owner_id)).run()
    if not exists:
        raise not_found(owner_type, owner_id)


def _checked_origins(kind: str, allowed: list[str], allow_localhost: bool) -> list[str]:
    """The origins a key may name: publishable keys only; the localhost wildcards only while
    the setting allows them (DESIGN §13). Duplicates are dropped, the order kept."""
    if allowed and kind != "publishable":
        raise ProblemError(
            409,
            "allowed_origins: only a publishable key is used from browsers; a secret key names no origins",
            slug="unusable-request",
            errors=[FieldError(field="allowed_origins", message="only for publishable keys")],
        )
    wildcards = [i for i, origin in enumerate(allowed) if is_localhost_wildcard(origin)]
    if wildcards and not allow_localhost:
        raise ProblemError(
            409,
            f"{allowed[wildcards[0]]} is a development origin, accepted only while "
            "GATEWAY_STOREFRONT_ALLOW_LOCALHOST=1: name the exact origin instead",
            slug="development-origin",
            errors=[
                FieldError(field=f"allowed_origins[{i}]", message="development origins are off") for i in wildcards
            ],
        )
    return list(dict.fromkeys(allowed))


async def create(principal: Principal, body: ApiKeyCreate, allow_localhost: bool = False) -> ApiKeyCreated:
    owner_type: OwnerType = body.owner.__struct_config__.tag  # type: ignore[assignment]
    allowed = _checked_origins(body.kind, body.allowed_origins, allow_localhost)
    await check_owner(principal, owner_type, body.owner.id)
    if body.kind == "secret" and not principal.covers(None):
        raise insufficient_scope("a secret key carries every scope: only a credential with every scope may create one")
    async with db().transaction():
        row, secret = await _insert_key(principal.tenant_id, owner_type, body.owner.id, body.kind, body.name, allowed)
        out = to_out(row)
        await emit(principal.tenant_id, "api_key.created", out, **_audience(out))
    origins.forget()
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


async def update(principal: Principal, key_id: str, body: ApiKeyUpdate, allow_localhost: bool = False) -> ApiKeyOut:
    values: dict[str, Any] = {"name": body.name} if body.name is not msgspec.UNSET else {}
    if body.allowed_origins is not msgspec.UNSET:
        current = await get(principal, key_id)
        allowed = _checked_origins(current.kind, body.allowed_origins, allow_localhost)
        values["allowed_origins"] = msgspec.json.encode(allowed).decode()
    return await _write(principal, key_id, body.version, values, "api_key.updated")


async def revoke(principal: Principal, key_id: str, version: int | None) -> ApiKeyOut:
    """Revocation is immediate and final: a revoked key never authenticates again."""
    return await _write(principal, key_id, version, {"status": "revoked", "revoked_at": utcnow()}, "api_key.revoked")


async def _write(
    principal: Principal, key_id: str, version: int | None, values: dict[str, Any], event: str
) -> ApiKeyOut:
    async with db().transaction():
        row = await update_versioned(ApiKey, KIND, principal.tenant_id, key_id, version, values, _visible(principal))
        await credentials.changed()  # cached principals of this key (status, origins) are dropped
        out = to_out(row)
        await emit(principal.tenant_id, event, out, **_audience(out))
    origins.forget()
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
