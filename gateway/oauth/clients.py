"""OAuth clients (DESIGN §9): registered by the operator for anyone in the tenant, or by a
supplier or channel for itself. Confidential clients get a secret, shown once and stored as
its SHA-256; public ones get none and must use the code grant with PKCE."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

import msgspec

from gateway.clock import utcnow
from gateway.events.services import emit
from gateway.http.problems import FieldError, ProblemError, conflict
from gateway.ids import new_id
from gateway.oauth import revocation
from gateway.oauth.models import OAuthClient
from gateway.oauth.schemas import OAuthClientCreate, OAuthClientCreated, OAuthClientOut, OAuthClientUpdate, owner_out
from gateway.oauth.scopes import insufficient_scope
from gateway.oauth.server import digest
from gateway.records import get_one, insert_row, json_value, list_page, narrowed, update_versioned
from gateway.storage import db
from gateway.tenancy.principal import OwnerType, Principal
from gateway.tenancy.services import check_owner

KIND = "OAuth client"
LOOPBACK = ("127.0.0.1", "::1", "localhost")
SECRET_PREFIX_LENGTH = 11


def invalid(field: str, message: str) -> ProblemError:
    """Valid by the schema, refused by the rules it cannot express (grant types that cannot
    work together): 409 `invalid-client-settings` naming the field, like other rule conflicts."""
    return ProblemError(
        409,
        f"Invalid {field}: {message}",
        slug="invalid-client-settings",
        errors=[FieldError(field=field, message=message)],
    )


def new_secret() -> str:
    """`cs_` + 43 characters of base64url (256 bits)."""
    return "cs_" + secrets.token_urlsafe(32)


def to_out(row: dict[str, Any]) -> OAuthClientOut:
    public = bool(row["public"])
    return OAuthClientOut(
        id=row["id"],
        client_id=row["id"],
        name=row["name"],
        owner=owner_out(row),
        public=public,
        grant_types=list(json_value(row["grant_types"])),
        scopes=list(json_value(row["scopes"])),
        redirect_uris=list(json_value(row["redirect_uris"])),
        token_endpoint_auth_method="none" if public else "client_secret_basic",
        secret_prefix=row["secret_prefix"],
        status=row["status"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        secret_rotated_at=row["secret_rotated_at"],
    )


def _visible(principal: Principal) -> dict[str, Any]:
    if principal.is_operator:
        return {}
    return {"owner_type": principal.type, "owner_id": principal.owner_id}


def _audience(client: OAuthClientOut) -> dict[str, str | None]:
    return {
        "supplier_id": client.owner.id if client.owner.type == "supplier" else None,
        "channel_id": client.owner.id if client.owner.type == "channel" else None,
    }


def check_redirect_uris(uris: list[str]) -> list[str]:
    """Exact URIs a code may be sent to: https, or http on a loopback address (RFC 8252 §7.3)."""
    for index, uri in enumerate(uris):
        try:
            parts = urlsplit(uri)
            host = parts.hostname
            parts.port  # noqa: B018 - raises on a malformed port
        except ValueError:
            raise invalid(f"redirect_uris[{index}]", "not a URL") from None
        if not host or parts.username or parts.password or parts.fragment or "#" in uri:
            raise invalid(f"redirect_uris[{index}]", "needs a host, and no user information or fragment")
        if parts.scheme != "https" and not (parts.scheme == "http" and host in LOOPBACK):
            raise invalid(f"redirect_uris[{index}]", "must be https (http only on 127.0.0.1, [::1] or localhost)")
    return list(dict.fromkeys(uris))


def check_grants(grant_types: list[str], redirect_uris: list[str], public: bool, field: str = "grant_types") -> None:
    if public and "client_credentials" in grant_types:
        raise invalid(field, "a public client has no secret, so it cannot use client_credentials")
    if "refresh_token" in grant_types and "authorization_code" not in grant_types:
        raise invalid(field, "refresh tokens come only from the authorization_code grant")
    if "authorization_code" in grant_types and not redirect_uris:
        raise invalid("redirect_uris", "the authorization_code grant needs at least one redirect URI")


def _may_grant(principal: Principal, scopes: list[str]) -> None:
    """A credential never creates an app that reaches further than itself."""
    if not principal.covers(frozenset(scopes)):
        raise insufficient_scope("an app's scopes must be among the scopes of the credential that registers it")


async def create(principal: Principal, body: OAuthClientCreate) -> OAuthClientCreated:
    owner_type: OwnerType = body.owner.__struct_config__.tag  # type: ignore[assignment]
    await check_owner(principal, owner_type, body.owner.id, what="OAuth clients")
    redirect_uris = check_redirect_uris(body.redirect_uris)
    grant_types: list[str] = list(dict.fromkeys(body.grant_types))
    check_grants(grant_types, redirect_uris, body.public)
    scopes = list(dict.fromkeys(body.scopes))
    _may_grant(principal, scopes)
    secret = None if body.public else new_secret()
    now = utcnow()
    row = {
        "id": new_id("cli"),
        "tenant_id": principal.tenant_id,
        "owner_type": owner_type,
        "owner_id": body.owner.id,
        "name": body.name,
        "public": body.public,
        "secret_hash": digest(secret) if secret else None,
        "secret_prefix": secret[:SECRET_PREFIX_LENGTH] if secret else None,
        "redirect_uris": msgspec.json.encode(redirect_uris).decode(),
        "grant_types": msgspec.json.encode(grant_types).decode(),
        "scopes": msgspec.json.encode(scopes).decode(),
        "status": "active",
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "secret_rotated_at": None,
    }
    async with db().transaction():
        await insert_row(OAuthClient, row)
        out = to_out(row)
        await emit(principal.tenant_id, "oauth_client.created", out, **_audience(out))
    return OAuthClientCreated(**msgspec.structs.asdict(out), client_secret=secret)


async def get(principal: Principal, client_id: str) -> OAuthClientOut:
    return to_out(await get_one(OAuthClient, KIND, principal.tenant_id, client_id, _visible(principal)))


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
        return []
    return await list_page(OAuthClient, principal.tenant_id, limit, after, filters)


async def update(principal: Principal, client_id: str, body: OAuthClientUpdate) -> OAuthClientOut:
    current = await get(principal, client_id)
    values: dict[str, Any] = {}
    if body.name is not msgspec.UNSET:
        values["name"] = body.name
    redirect_uris = current.redirect_uris
    if body.redirect_uris is not msgspec.UNSET:
        redirect_uris = check_redirect_uris(body.redirect_uris)
        values["redirect_uris"] = msgspec.json.encode(redirect_uris).decode()
    grant_types: list[str] = list(current.grant_types)
    if body.grant_types is not msgspec.UNSET:
        grant_types = list(dict.fromkeys(body.grant_types))
        values["grant_types"] = msgspec.json.encode(grant_types).decode()
    check_grants(grant_types, redirect_uris, current.public)
    if body.scopes is not msgspec.UNSET:
        scopes = list(dict.fromkeys(body.scopes))
        _may_grant(principal, scopes)
        values["scopes"] = msgspec.json.encode(scopes).decode()
    return await _write(principal, client_id, body.version, values, "oauth_client.updated")


async def rotate_secret(principal: Principal, client_id: str, version: int | None) -> OAuthClientCreated:
    """A new secret, shown once; the old one stops working now, and so do access tokens issued
    before (a leaked secret may have minted them). Refresh tokens stay: the app refreshes with
    its new secret."""
    current = await get(principal, client_id)
    if current.public:
        raise conflict(f"{client_id} is a public client: it has no secret to rotate", slug="public-client")
    secret = new_secret()
    values = {
        "secret_hash": digest(secret),
        "secret_prefix": secret[:SECRET_PREFIX_LENGTH],
        "secret_rotated_at": utcnow(),
    }
    out = await _write(principal, client_id, version, values, "oauth_client.secret_rotated", revoke_access=True)
    return OAuthClientCreated(**msgspec.structs.asdict(out), client_secret=secret)


async def set_status(principal: Principal, client_id: str, version: int | None, status: str) -> OAuthClientOut:
    """Deactivating revokes every token of the client, refresh tokens included."""
    event = "oauth_client.activated" if status == "active" else "oauth_client.deactivated"
    inactive = status != "active"
    return await _write(
        principal, client_id, version, {"status": status}, event, revoke_access=inactive, revoke_refresh=inactive
    )


async def _write(
    principal: Principal,
    client_id: str,
    version: int | None,
    values: dict[str, Any],
    event: str,
    *,
    revoke_access: bool = False,
    revoke_refresh: bool = False,
) -> OAuthClientOut:
    async with db().transaction():
        row = await update_versioned(
            OAuthClient, KIND, principal.tenant_id, client_id, version, values, _visible(principal)
        )
        if revoke_refresh:
            await db().fetch(
                "UPDATE oauth_refresh_tokens SET revoked_at = ? WHERE tenant_id = ? AND client_id = ? "
                "AND revoked_at IS NULL",
                utcnow(),
                principal.tenant_id,
                client_id,
            )
        if revoke_access:
            await revocation.revoke([f"client:{client_id}"])
        out = to_out(row)
        await emit(principal.tenant_id, event, out, **_audience(out))
    return out
