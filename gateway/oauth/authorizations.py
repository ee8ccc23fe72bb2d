"""Consent records (`/v1/authorizations`): which apps a party's users let act for the party,
with which scopes; revoking one ends every token it produced, at once."""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.clock import utcnow
from gateway.events.services import emit
from gateway.http.problems import not_found
from gateway.ids import new_id
from gateway.oauth import revocation
from gateway.oauth.models import OAuthAuthorization
from gateway.oauth.schemas import AuthorizationOut, ClientRef, owner_out
from gateway.records import json_value, narrowed, update_versioned
from gateway.storage import db
from gateway.tenancy.principal import Principal

KIND = "authorization"
_SELECT = (
    "SELECT a.id, a.tenant_id, a.user_id, a.client_id, a.owner_type, a.owner_id, a.scopes, a.status, a.version, "
    "a.created_at, a.updated_at, a.revoked_at, c.name AS client_name "
    "FROM oauth_authorizations a JOIN oauth_clients c ON c.id = a.client_id "
)


def to_out(row: dict[str, Any]) -> AuthorizationOut:
    return AuthorizationOut(
        id=row["id"],
        user_id=row["user_id"],
        client=ClientRef(id=row["client_id"], name=row["client_name"]),
        owner=owner_out(row),
        scopes=list(json_value(row["scopes"])),
        status=row["status"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        revoked_at=row["revoked_at"],
    )


def _visible(principal: Principal) -> dict[str, Any]:
    """The operator sees every consent in the tenant; a party the ones given for it."""
    if principal.is_operator:
        return {}
    return {"owner_type": principal.type, "owner_id": principal.owner_id}


def _where(filters: dict[str, Any]) -> tuple[str, list[Any]]:
    return "".join(f" AND a.{column} = ?" for column in filters), list(filters.values())


async def get(principal: Principal, authorization_id: str) -> AuthorizationOut:
    return await _load(principal.tenant_id, authorization_id, _visible(principal))


async def _load(tenant_id: str, authorization_id: str, visible: dict[str, Any]) -> AuthorizationOut:
    extra, args = _where(visible)
    rows = await db().fetch(f"{_SELECT}WHERE a.tenant_id = ? AND a.id = ?{extra}", tenant_id, authorization_id, *args)
    if not rows:
        raise not_found(KIND, authorization_id)
    return to_out(rows[0])


async def list_(
    principal: Principal,
    limit: int,
    after: str | None,
    user_id: str | None,
    client_id: str | None,
    status: str | None,
) -> list[dict[str, Any]]:
    filters = narrowed(_visible(principal), {"user_id": user_id, "client_id": client_id, "status": status})
    if filters is None:
        return []
    extra, args = _where(filters)
    if after is not None:
        extra += " AND a.id > ?"
        args.append(after)
    return await db().fetch(
        f"{_SELECT}WHERE a.tenant_id = ?{extra} ORDER BY a.id LIMIT ?", principal.tenant_id, *args, limit + 1
    )


async def revoke(principal: Principal, authorization_id: str, version: int | None) -> AuthorizationOut:
    """The app loses what this consent gave it: refresh tokens now, access tokens at once in
    every process (gateway.oauth.revocation). Revoking twice is harmless."""
    await get(principal, authorization_id)  # 404 for what the caller may not see
    async with db().transaction():
        await update_versioned(
            OAuthAuthorization,
            KIND,
            principal.tenant_id,
            authorization_id,
            version,
            {"status": "revoked", "revoked_at": utcnow()},
            _visible(principal),
        )
        await db().fetch(
            "UPDATE oauth_refresh_tokens SET revoked_at = ? WHERE tenant_id = ? AND authorization_id = ? "
            "AND revoked_at IS NULL",
            utcnow(),
            principal.tenant_id,
            authorization_id,
        )
        await revocation.revoke([f"authorization:{authorization_id}"], everything=True)
        out = await get(principal, authorization_id)
        await emit(principal.tenant_id, "authorization.revoked", out, **_audience(out))
    return out


def _audience(out: AuthorizationOut) -> dict[str, str | None]:
    return {
        "supplier_id": out.owner.id if out.owner.type == "supplier" else None,
        "channel_id": out.owner.id if out.owner.type == "channel" else None,
    }


async def record_consent(tenant_id: str, user: dict[str, Any], client_id: str, scopes: list[str]) -> str:
    """On approval: the user's active consent for this client, widened to `scopes`, or a new
    one (a revoked consent stays revoked: approving again starts a new record), with its event
    (`authorization.created` or `.updated`). Returns its id. Runs in the caller's transaction."""
    rows = await db().fetch(
        "SELECT id, scopes FROM oauth_authorizations WHERE tenant_id = ? AND user_id = ? AND client_id = ? "
        "AND status = 'active' ORDER BY id DESC LIMIT 1",
        tenant_id,
        user["id"],
        client_id,
    )
    now = utcnow()
    if rows:
        held = list(json_value(rows[0]["scopes"]))
        widened = held + [scope for scope in scopes if scope not in held]
        if widened != held:
            await db().fetch(
                "UPDATE oauth_authorizations SET scopes = ?, version = version + 1, updated_at = ? WHERE id = ?",
                msgspec.json.encode(widened).decode(),
                now,
                rows[0]["id"],
            )
            out = await _load(tenant_id, rows[0]["id"], {})
            await emit(tenant_id, "authorization.updated", out, **_audience(out))
        return str(rows[0]["id"])
    authorization_id = new_id("authz")
    await db().fetch(
        "INSERT INTO oauth_authorizations (id, tenant_id, user_id, client_id, owner_type, owner_id, scopes, status, "
        "version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'active', 1, ?, ?)",
        authorization_id,
        tenant_id,
        user["id"],
        client_id,
        user["owner_type"],
        user["owner_id"],
        msgspec.json.encode(scopes).decode(),
        now,
        now,
    )
    out = await _load(tenant_id, authorization_id, {})
    await emit(tenant_id, "authorization.created", out, **_audience(out))
    return authorization_id
