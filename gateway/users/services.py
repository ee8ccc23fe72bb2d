"""Users: the people of a tenant's parties who log in to authorise apps (DESIGN §9).

The operator manages every user of the tenant; a supplier or channel its own (as with API
keys). Passwords are hashed with Argon2id (gateway.users.passwords) and never leave. A
deactivated user cannot log in, and every token an app holds for them stops working at once
(gateway.oauth.revocation), their refresh tokens included.
"""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.clock import utcnow
from gateway.events.services import emit
from gateway.http.problems import conflict
from gateway.ids import new_id
from gateway.oauth import revocation
from gateway.oauth.scopes import insufficient_scope
from gateway.records import get_one, list_page, narrowed, update_versioned
from gateway.storage import db, is_unique_violation
from gateway.tenancy.principal import OwnerType, Principal
from gateway.tenancy.schemas import OwnerOut
from gateway.tenancy.services import check_owner
from gateway.users.models import User
from gateway.users.passwords import hash_password
from gateway.users.schemas import UserCreate, UserOut, UserUpdate

KIND = "user"


def to_out(row: dict[str, Any]) -> UserOut:
    return UserOut(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        owner=OwnerOut(type=row["owner_type"], id=row["owner_id"]),
        locale=row["locale"],
        status=row["status"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        password_changed_at=row["password_changed_at"],
    )


def _visible(principal: Principal) -> dict[str, Any]:
    if principal.is_operator:
        return {}
    return {"owner_type": principal.type, "owner_id": principal.owner_id}


def _audience(user: UserOut) -> dict[str, str | None]:
    return {
        "supplier_id": user.owner.id if user.owner.type == "supplier" else None,
        "channel_id": user.owner.id if user.owner.type == "channel" else None,
    }


def _email_taken(email: str) -> Exception:
    return conflict(f"A user with email {email} already exists in this tenant", slug="email-taken")


async def create(principal: Principal, body: UserCreate) -> UserOut:
    owner_type: OwnerType = body.owner.__struct_config__.tag  # type: ignore[assignment]
    await check_owner(principal, owner_type, body.owner.id, what="users")
    if not principal.covers(None):
        raise insufficient_scope("a user can authorise any scope: only a credential with every scope may create one")
    now = utcnow()
    email = body.email.lower()
    row = {
        "id": new_id("usr"),
        "tenant_id": principal.tenant_id,
        "owner_type": owner_type,
        "owner_id": body.owner.id,
        "email": email,
        "name": body.name,
        "locale": body.locale,
        "password_hash": await hash_password(body.password),
        "status": "active",
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "password_changed_at": now,
    }
    async with db().transaction():
        inserted = await db().fetch(
            f"INSERT INTO users ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)}) "
            "ON CONFLICT (tenant_id, email) DO NOTHING RETURNING id",
            *row.values(),
        )
        if not inserted:
            raise _email_taken(email)
        out = to_out(row)
        await emit(principal.tenant_id, "user.created", out, **_audience(out))
    return out


async def get(principal: Principal, user_id: str) -> UserOut:
    return to_out(await get_one(User, KIND, principal.tenant_id, user_id, _visible(principal)))


async def list_(
    principal: Principal,
    limit: int,
    after: str | None,
    owner_type: str | None,
    owner_id: str | None,
    status: str | None,
    email: str | None,
) -> list[dict[str, Any]]:
    filters = narrowed(
        _visible(principal),
        {"owner_type": owner_type, "owner_id": owner_id, "status": status, "email": email.lower() if email else None},
    )
    if filters is None:
        return []
    return await list_page(User, principal.tenant_id, limit, after, filters)


async def update(principal: Principal, user_id: str, body: UserUpdate) -> UserOut:
    values: dict[str, Any] = {}
    if body.email is not msgspec.UNSET:
        values["email"] = body.email.lower()
    if body.name is not msgspec.UNSET:
        values["name"] = body.name
    if body.locale is not msgspec.UNSET:
        values["locale"] = body.locale
    if body.password is not msgspec.UNSET:
        if not principal.covers(None):
            raise insufficient_scope("setting a password needs a credential with every scope")
        values["password_hash"] = await hash_password(body.password)
        values["password_changed_at"] = utcnow()
    try:
        return await _write(principal, user_id, body.version, values, "user.updated")
    except Exception as error:
        if is_unique_violation(error):
            raise _email_taken(values["email"]) from None
        raise


async def set_status(principal: Principal, user_id: str, version: int | None, status: str) -> UserOut:
    """Deactivating ends every app's access for the user at once (tokens and refresh tokens)."""
    event = "user.activated" if status == "active" else "user.deactivated"
    out = await _write(principal, user_id, version, {"status": status}, event, revoke=status != "active")
    return out


async def _write(
    principal: Principal,
    user_id: str,
    version: int | None,
    values: dict[str, Any],
    event: str,
    *,
    revoke: bool = False,
) -> UserOut:
    async with db().transaction():
        row = await update_versioned(User, KIND, principal.tenant_id, user_id, version, values, _visible(principal))
        if revoke:
            await db().fetch(
                "UPDATE oauth_refresh_tokens SET revoked_at = ? WHERE tenant_id = ? AND user_id = ? "
                "AND revoked_at IS NULL",
                utcnow(),
                principal.tenant_id,
                user_id,
            )
            await revocation.revoke([f"user:{user_id}"])
        out = to_out(row)
        await emit(principal.tenant_id, event, out, **_audience(out))
    return out


async def find_for_login(tenant_id: str, email: str) -> dict[str, Any] | None:
    """The user with this email in the tenant, active or not (the login page decides)."""
    rows = await db().fetch(
        "SELECT id, tenant_id, owner_type, owner_id, email, name, locale, password_hash, status FROM users "
        "WHERE tenant_id = ? AND email = ?",
        tenant_id,
        email.strip().lower(),
    )
    return rows[0] if rows else None


async def rehash(user_id: str, stored: str, password: str) -> None:
    """Upgrade a hash made with weaker parameters, after a successful login."""
    await db().fetch(
        "UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?",
        await hash_password(password),
        user_id,
        stored,
    )
