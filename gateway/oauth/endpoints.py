"""The Litestar adapter of the authorization server: /oauth/token, /oauth/revoke,
/oauth/introspect, RFC 8414 metadata and the JWKS (the authorize pages are in `authorize`).

Each handler reads the form, prefetches what authlib may ask for (gateway.oauth.server
explains why), runs authlib, then commits what it queued. These endpoints speak RFC 6749's
error dialect (`{"error": "invalid_grant", ...}`), not problem documents, because every OAuth
client library expects it; they are described by the RFC 8414 metadata rather than the
OpenAPI document.
"""

from __future__ import annotations

import logging
import urllib.parse
from typing import Any

from authlib.oauth2.rfc6749 import InvalidRequestError, OAuth2Error
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from litestar import Request, Response, get, post

from gateway.ids import pattern
from gateway.oauth import lockout, revocation, scopes, tokens
from gateway.oauth.config import config, issuer_of
from gateway.oauth.keyring import ring
from gateway.oauth.server import (
    Client,
    Exchange,
    Reply,
    TokenView,
    Vetoed,
    digest,
    repeated,
    revoke_grant,
    run,
    server,
    wrong_grant,
)
from gateway.storage import db
from gateway.tenancy import owners

log = logging.getLogger("gateway")
_CLIENT_ID = __import__("re").compile(pattern("cli"))
MAX_FIELDS = 32

# -- reading requests -------------------------------------------------------------------------


class BadRequest(Exception):
    def __init__(self, error: OAuth2Error) -> None:
        self.error = error


async def read_form(request: Request[Any, Any, Any]) -> list[tuple[str, str]]:
    """The urlencoded body as (name, value) pairs; RFC 6749 §3.2 allows nothing else."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise BadRequest(InvalidRequestError("Send the parameters as application/x-www-form-urlencoded"))
    try:
        text = (await request.body()).decode("utf-8")
        pairs = urllib.parse.parse_qsl(
            text, keep_blank_values=True, strict_parsing=False, max_num_fields=MAX_FIELDS, errors="strict"
        )
    except (UnicodeDecodeError, ValueError):
        raise BadRequest(InvalidRequestError("The body is not a valid UTF-8 urlencoded form")) from None
    if name := repeated(pairs):
        raise BadRequest(InvalidRequestError(f"Parameter {_ascii(name)} appears more than once"))
    return pairs


def _ascii(text: str) -> str:
    """Text safe for an `error_description` (RFC 6749 allows printable ASCII but `"` and `\\`)."""
    return "".join(c if 0x20 <= ord(c) <= 0x7E and c not in '"\\' else "?" for c in text)[:80]


def respond(reply: Reply) -> Response[Any]:
    headers = {name: value for name, value in reply.headers if name.lower() != "content-type"}
    if reply.status in (301, 302, 303, 307):
        return Response(content=b"", status_code=reply.status, headers=headers)
    return Response(content=reply.body, status_code=reply.status, headers=headers, media_type="application/json")


def error(exc: OAuth2Error) -> Response[Any]:
    return respond(server.handle_error_response(None, exc))


def client_ids(request: Request[Any, Any, Any], form: dict[str, str]) -> list[str]:
    """Client ids the request names (Basic auth and/or the form), well-formed ones only."""
    basic_id, _ = extract_basic_authorization(request.headers)
    named = [basic_id, form.get("client_id")]
    return [cid for cid in dict.fromkeys(named) if isinstance(cid, str) and _CLIENT_ID.match(cid)]


def party_active(alias: str) -> str:
    """SQL: the party of `alias` (a row with owner_type/owner_id) is active (operator: always).
    The party tables are the domains' (`gateway.tenancy.owners`), so the SQL is built on use."""
    return owners.active_sql(alias)


_CLIENT_SQL = """
SELECT c.id, c.tenant_id, c.owner_type, c.owner_id, c.name, c.public, c.secret_hash, c.redirect_uris,
       c.grant_types, c.scopes
FROM oauth_clients c JOIN tenants t ON t.id = c.tenant_id AND t.status = 'active'
WHERE c.id = ? AND c.status = 'active' AND {party_active}
"""


def _sql(template: str, alias: str = "c") -> str:
    return template.replace("{party_active}", party_active(alias))


async def load_clients(ids: list[str]) -> dict[str, Client]:
    """Active clients of active tenants and parties: an inactive one does not exist here."""
    found: dict[str, Client] = {}
    for client_id in ids:
        rows = await db().fetch(_sql(_CLIENT_SQL), client_id)
        if rows:
            found[client_id] = Client.from_row(rows[0])
    return found


_USABLE = """CASE WHEN a.status = 'active' AND u.status = 'active' AND {party_active} THEN 1 ELSE 0 END"""
_CODE_SQL = f"""
SELECT k.*, u.owner_type, u.owner_id, {_USABLE} AS usable
FROM oauth_codes k
JOIN oauth_authorizations a ON a.id = k.authorization_id
JOIN users u ON u.id = k.user_id
WHERE k.id = ?
"""
_REFRESH_SQL = f"""
SELECT r.*, u.owner_type, u.owner_id, {_USABLE} AS usable
FROM oauth_refresh_tokens r
JOIN oauth_authorizations a ON a.id = r.authorization_id
JOIN users u ON u.id = r.user_id
WHERE r.id = ?
"""


async def load_code(code: str | None) -> dict[str, Any] | None:
    if not code or len(code) > 512:
        return None
    rows = await db().fetch(_sql(_CODE_SQL, "u"), digest(code))
    return rows[0] if rows else None


async def load_refresh(token: str | None) -> dict[str, Any] | None:
    if not token or len(token) > 512:
        return None
    rows = await db().fetch(_sql(_REFRESH_SQL, "u"), digest(token))
    return rows[0] if rows else None


async def presented(token: str | None, issuer: str) -> TokenView | None:
    """The token given to /revoke or /introspect, whichever kind it is."""
    if not token:
        return None
    if tokens.looks_like_jwt(token):
        await revocation.ensure_fresh()
        claims = tokens.decode(token, issuer)
        if claims is None:
            return None
        revoked = revocation.cache.revoked(tokens.revocable_keys(claims), tokens.issued_ms(claims))
        return TokenView("access_token", str(claims["client_id"]), claims=claims, revoked=revoked)
    row = await load_refresh(token)
    if row is None:
        return None
    spent = row["used_at"] is not None or row["revoked_at"] is not None or not row["usable"]
    return TokenView("refresh_token", row["client_id"], row=row, revoked=spent)


def new_exchange(request: Request[Any, Any, Any]) -> Exchange:
    settings = config()
    return Exchange(issuer_of(request), settings.access_token_seconds, settings.refresh_token_days)


def oauth_request(request: Request[Any, Any, Any], pairs: list[tuple[str, str]]) -> Any:
    from gateway.oauth.server import Request as OAuthRequest

    return OAuthRequest(request.method, str(request.url), request.headers, pairs)


# -- the endpoints ----------------------------------------------------------------------------

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@post("/oauth/token", include_in_schema=False, status_code=200)
async def token_endpoint(request: Request[Any, Any, Any]) -> Response[Any]:
    """RFC 6749 §3.2: client_credentials, authorization_code (+ PKCE), refresh_token (rotating)."""
    try:
        pairs = await read_form(request)
    except BadRequest as bad:
        return error(bad.error)
    form = dict(pairs)
    ids = client_ids(request, form)
    if refusal := await lockout.client_refusal(request, ids):
        return refusal
    exchange = new_exchange(request)
    exchange.clients = await load_clients(ids)
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        exchange.code = await load_code(form.get("code"))
    elif grant_type == "refresh_token":
        exchange.refresh = await load_refresh(form.get("refresh_token"))
    if ring.current is None or ring.due:
        await ring.reload_if_due()

    reply: Reply = run(exchange, lambda: server.create_token_response(oauth_request(request, pairs)))
    if reply.status == 200:
        try:
            await exchange.commit()
        except Vetoed:
            reply = wrong_grant()
    if exchange.reused_grant:
        await _revoke_family(exchange.reused_grant)
    await lockout.record_client(request, exchange.clients.values())
    return respond(reply)


async def _revoke_family(grant_id: str) -> None:
    """A spent code or refresh token came back: whoever holds the family now is not trusted."""
    log.warning("oauth grant %s reused: revoking its token family", grant_id)
    async with db().transaction():
        await revoke_grant(grant_id)


@post("/oauth/revoke", include_in_schema=False, status_code=200)
async def revoke_endpoint(request: Request[Any, Any, Any]) -> Response[Any]:
    """RFC 7009: access tokens (by `jti`) and refresh tokens (their whole family)."""
    return await _token_endpoint_call(request, "revocation")


@post("/oauth/introspect", include_in_schema=False, status_code=200)
async def introspect_endpoint(request: Request[Any, Any, Any]) -> Response[Any]:
    """RFC 7662, for confidential clients about their own tokens."""
    return await _token_endpoint_call(request, "introspection")


async def _token_endpoint_call(request: Request[Any, Any, Any], name: str) -> Response[Any]:
    try:
        pairs = await read_form(request)
    except BadRequest as bad:
        return error(bad.error)
    form = dict(pairs)
    ids = client_ids(request, form)
    if refusal := await lockout.client_refusal(request, ids):
        return refusal
    exchange = new_exchange(request)
    exchange.clients = await load_clients(ids)
    exchange.presented = await presented(form.get("token"), exchange.issuer)
    reply: Reply = run(exchange, lambda: server.create_endpoint_response(name, oauth_request(request, pairs)))
    if reply.status == 200:
        await exchange.commit()
    await lockout.record_client(request, exchange.clients.values())
    return respond(reply)


def metadata(issuer: str) -> dict[str, Any]:
    document = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth/authorize",
        "token_endpoint": f"{issuer}/oauth/token",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "scopes_supported": list(scopes.ALL_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "ui_locales_supported": ["en", "zh-CN"],
        "authorization_response_iss_parameter_supported": True,
        "service_documentation": f"{issuer}/docs",
    }
    if issuer.startswith("https://"):  # authlib's check refuses http, which only development uses
        AuthorizationServerMetadata(document).validate()
    return document


@get("/.well-known/oauth-authorization-server", include_in_schema=False)
async def metadata_endpoint(request: Request[Any, Any, Any]) -> Response[Any]:
    """RFC 8414."""
    return Response(content=metadata(issuer_of(request)), headers={"Cache-Control": "max-age=300"})


@get("/.well-known/jwks.json", include_in_schema=False)
async def jwks_endpoint() -> Response[Any]:
    """The public keys that verify access tokens: the current, previous and next ones."""
    await ring.reload_if_due()
    return Response(content=ring.jwks, headers={"Cache-Control": "max-age=300"}, media_type="application/jwk-set+json")


#: handlers for the app factory
ROUTES: list[Any] = [token_endpoint, revoke_endpoint, introspect_endpoint, metadata_endpoint, jwks_endpoint]
