"""Brute-force limits of the authorization server, on gateway.http.lockout (shared counters:
Redis when configured, so every process counts the same failures):

- logins at /oauth/authorize: per account (tenant + email) and per client address;
- client secrets at /oauth/token, /revoke and /introspect: per client *and address* as the
  account (so nobody elsewhere can lock a reseller's server out by spraying wrong secrets at
  its client id), and per address.

The OAuth endpoints answer in RFC 6749's dialect, so a lockout there is `invalid_client` with
status 429 and `Retry-After`; the login page shows it in the page's language.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from litestar import Response
from litestar.connection import ASGIConnection

from gateway.http.lockout import Lockout
from gateway.http.problems import ProblemError
from gateway.http.ratelimit import client_address

LOGIN = Lockout("oauth-login")
CLIENT_SECRET = Lockout("client-secret")

Connection = ASGIConnection[Any, Any, Any, Any]


def _address(connection: Connection) -> str:
    settings = connection.app.state.get("settings")
    proxies = settings.trusted_proxy_networks if settings is not None else ()
    return client_address(connection.scope, proxies)


def _login_account(tenant_id: str, email: str) -> str:
    return f"{tenant_id}\n{email}"


async def login_wait(connection: Connection, tenant_id: str, email: str) -> int:
    """Seconds before this account may try to log in from this address (0: now)."""
    try:
        await LOGIN.check(connection, account=_login_account(tenant_id, email))
    except ProblemError as locked:
        return int((locked.headers or {}).get("Retry-After", "1"))
    return 0


async def record_login(connection: Connection, tenant_id: str, email: str, ok: bool) -> None:
    record = LOGIN.succeeded if ok else LOGIN.failed
    await record(connection, account=_login_account(tenant_id, email))


def _client_account(connection: Connection, client_id: str) -> str:
    return f"{client_id}\n{_address(connection)}"


async def client_refusal(connection: Connection, client_ids: Iterable[str]) -> Response[Any] | None:
    """An RFC 6749 `invalid_client` answer (429, `Retry-After`) while a client named by the
    request is locked for this address; None when it may try."""
    for client_id in client_ids:
        try:
            await CLIENT_SECRET.check(connection, account=_client_account(connection, client_id))
        except ProblemError as locked:
            seconds = (locked.headers or {}).get("Retry-After", "1")
            return Response(
                content={
                    "error": "invalid_client",
                    "error_description": f"Too many failed client authentications; retry in {seconds} s",
                },
                status_code=429,
                headers={"Retry-After": seconds, "Cache-Control": "no-store"},
                media_type="application/json",
            )
    return None


async def record_client(connection: Connection, clients: Iterable[Any]) -> None:
    """Count a failure for each client whose secret was presented and did not match."""
    for client in clients:
        if getattr(client, "secret_failed", False):
            await CLIENT_SECRET.failed(connection, account=_client_account(connection, client.id))
