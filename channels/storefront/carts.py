"""The carts table: the one module that writes it, and what others ask of a cart.

A cart is a quote held for a shopper (`channels.orders` prices, routes and holds it, and
`suppliers.inventory`'s reservation sweep releases it when it expires), plus a client secret
and who made it. The channel's server places the order from it with `POST /v1/orders
{"cart_id", "client_secret"}` (`redeem`). No import of `channels.orders` here: orders import
this module.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from datetime import UTC, datetime
from typing import Any

from gateway.http.problems import FieldError, ProblemError
from gateway.storage import db
from gateway.tenancy.principal import Principal

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
COLUMNS = "id, tenant_id, channel_id, quote_id, key_id, client_address, secret_hash, expires_at, created_at"


def new_secret() -> str:
    """`cs_` and 32 base62 characters (190 bits): unguessable, and only its hash is kept."""
    return "cs_" + "".join(secrets.choice(_ALPHABET) for _ in range(32))


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(row: dict[str, Any], secret: str | None) -> bool:
    return secret is not None and hmac.compare_digest(row["secret_hash"], digest(secret))


def address_bucket(host: str | None) -> str:
    """What the per-address cap counts by: the IPv4 address, or an IPv6 address's /64 (one
    subscriber gets a whole /64, so counting single IPv6 addresses would cap nothing)."""
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


async def insert(row: dict[str, Any]) -> None:
    await db().fetch(
        f"INSERT INTO storefront_carts ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})", *row.values()
    )


def _scope(principal: Principal) -> tuple[str, list[Any]]:
    """The operator sees every cart of the tenant; a channel (either key) its own."""
    if principal.is_operator:
        return "", []
    return " AND channel_id = ?", [principal.owner_id if principal.type == "channel" else ""]


async def find(principal: Principal, cart_id: str) -> dict[str, Any] | None:
    extra, args = _scope(principal)
    rows = await db().fetch(
        f"SELECT {COLUMNS} FROM storefront_carts WHERE tenant_id = ? AND id = ?{extra}",
        principal.tenant_id,
        cart_id,
        *args,
    )
    return rows[0] if rows else None


async def page(principal: Principal, limit: int, after: str | None, channel_id: str | None) -> list[dict[str, Any]]:
    extra, args = _scope(principal)
    if channel_id is not None:
        extra += " AND channel_id = ?"
        args.append(channel_id)
    if after is not None:
        extra += " AND id > ?"
        args.append(after)
    return await db().fetch(
        f"SELECT {COLUMNS} FROM storefront_carts WHERE tenant_id = ?{extra} ORDER BY id LIMIT ?",
        principal.tenant_id,
        *args,
        limit + 1,
    )


_OPEN = (
    "FROM storefront_carts c JOIN quotes q ON q.id = c.quote_id "
    "WHERE c.tenant_id = ? AND c.{column} = ? AND c.expires_at > ? AND q.status = 'open'"
)


async def open_count(tenant_id: str, column: str, value: str, now: datetime) -> int:
    """Carts of a key (`key_id`) or a client address (`client_address`) still holding stock."""
    assert column in ("key_id", "client_address")
    rows = await db().fetch(f"SELECT COUNT(*) AS n {_OPEN.format(column=column)}", tenant_id, value, now)
    return int(rows[0]["n"])


async def first_expiry(tenant_id: str, column: str, value: str, now: datetime) -> datetime | None:
    """When the first of those open carts expires (to tell a refused caller when to retry)."""
    assert column in ("key_id", "client_address")
    rows = await db().fetch(
        f"SELECT c.expires_at {_OPEN.format(column=column)} ORDER BY c.expires_at LIMIT 1", tenant_id, value, now
    )
    if not rows:
        return None
    raw = rows[0]["expires_at"]
    when: datetime = datetime.fromisoformat(raw) if isinstance(raw, str) else raw  # ISO text on SQLite
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


async def redeem(principal: Principal, channel_id: str, cart_id: str, client_secret: str) -> str:
    """The quote an order from this cart takes its held stock from. The cart must be the
    channel's and the secret its own: a cart of another channel or tenant is "not found", a
    wrong secret (another cart's, say) a 403 naming `client_secret`. Whether it is still open
    is the quote's to say (`channels.orders`)."""
    row = await find(principal, cart_id)
    if row is None or row["channel_id"] != channel_id:
        raise ProblemError(
            404,
            f"No such cart: {cart_id}",
            slug="not-found",
            errors=[FieldError(field="cart_id", message="no such cart")],
        )
    if not secret_matches(row, client_secret):
        raise ProblemError(
            403,
            f"client_secret is not the secret of cart {cart_id}",
            slug="invalid-client-secret",
            errors=[FieldError(field="client_secret", message="not this cart's secret")],
        )
    return str(row["quote_id"])
