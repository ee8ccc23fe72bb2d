"""The authorization server: authlib's framework-agnostic core, with its gaps closed.

Authlib is synchronous and our storage is not, so each request is one `Exchange`:

1. the Litestar adapter (gateway.oauth.endpoints) parses the form and *prefetches* every row the
   grant may ask for (the clients named by the request, the code or refresh token presented,
   the user behind it) with async queries;
2. authlib runs synchronously on those rows (CPU only): it authenticates the client, checks
   PKCE, redirect URI and scope, and signs the token; whatever it wants written is *queued*;
3. the adapter runs the queued writes in one transaction. Spending a code or a refresh token
   is a conditional UPDATE; if another request spent it first the transaction rolls back and
   the answer becomes `invalid_grant`, never a second token.

Gaps of authlib's defaults closed here (FIELD-NOTES):
- PKCE `S256` is required for every authorization-code request, at /authorize (authlib lets a
  request without `code_challenge` through) and so at the token endpoint; `plain` is refused;
- public clients authenticate with `none` at the token endpoint for the code and refresh grants;
- refresh tokens rotate (`INCLUDE_NEW_REFRESH_TOKEN`), a spent one is remembered, and
  presenting it again revokes its whole family (`grant:<id>`), access tokens included;
- a reused authorization code revokes what its first exchange issued (RFC 6749 §4.1.2);
- revoking a JWT access token works (authlib's JWT revocation endpoint refuses to);
- codes live 60 s; the authorization response carries `iss` (RFC 9207).
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from authlib.oauth2 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749 import ClientMixin, InvalidGrantError, InvalidRequestError
from authlib.oauth2.rfc6749 import grants as rfc6749_grants
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from authlib.oauth2.rfc9207 import IssuerParameter
from joserfc.jwk import KeySet

from gateway.clock import utcnow
from gateway.ids import new_id
from gateway.oauth import revocation, scopes, tokens
from gateway.oauth.keyring import ALG, ring
from gateway.records import json_value
from gateway.storage import db

CODE_SECONDS = 60
SECRET_AUTH = ["client_secret_basic", "client_secret_post"]
ANY_AUTH = [*SECRET_AUTH, "none"]
GRANT_TYPES = ("client_credentials", "authorization_code", "refresh_token")


def digest(secret: str) -> str:
    """Client secrets, codes and refresh tokens are long and random: SHA-256 is enough."""
    return hashlib.sha256(secret.encode()).hexdigest()


# -- the rows authlib sees -------------------------------------------------------------------


@dataclass
class Client(ClientMixin):  # type: ignore[misc]
    id: str
    tenant_id: str
    owner_type: str
    owner_id: str | None
    name: str
    public: bool
    secret_hash: str | None
    redirect_uris: list[str]
    grant_types: list[str]
    scopes: list[str]
    #: set when a secret was presented and did not match (brute-force accounting)
    secret_failed: bool = False

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Client:
        return cls(
            id=row["id"],
            tenant_id=row["tenant_id"],
            owner_type=row["owner_type"],
            owner_id=row["owner_id"],
            name=row["name"],
            public=bool(row["public"]),
            secret_hash=row["secret_hash"],
            redirect_uris=list(json_value(row["redirect_uris"])),
            grant_types=list(json_value(row["grant_types"])),
            scopes=list(json_value(row["scopes"])),
        )

    def get_client_id(self) -> str:
        return self.id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """No scope asked: every scope the client was registered with. Otherwise exactly what
        was asked, if the client may have all of it; None (→ `invalid_scope`) if not."""
        if not scope:
            return " ".join(self.scopes)
        requested = scopes.parse(scope)
        if not requested or any(item not in self.scopes for item in requested):
            return None
        return " ".join(requested)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris  # exact match, never a prefix

    def check_client_secret(self, client_secret: str) -> bool:
        ok = self.secret_hash is not None and hmac.compare_digest(digest(client_secret), self.secret_hash)
        self.secret_failed = self.secret_failed or not ok
        return ok

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.public:  # no secret: may get tokens and revoke them, not introspect
            return method == "none" and endpoint in ("token", "revocation")
        return method in SECRET_AUTH

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


@dataclass
class Grantor:
    """The `user` of authlib: who granted, for which party, under which consent and family."""

    user_id: str
    owner_type: str
    owner_id: str | None
    authorization_id: str
    grant_id: str

    def get_user_id(self) -> str:
        return self.user_id


@dataclass
class Code:
    row: dict[str, Any]

    def get_redirect_uri(self) -> str | None:
        return self.row["redirect_uri"] or None

    def get_scope(self) -> str:
        return str(self.row["scope"])

    @property
    def code_challenge(self) -> str:
        return str(self.row["code_challenge"])

    @property
    def code_challenge_method(self) -> str:
        return str(self.row["code_challenge_method"])


@dataclass
class RefreshToken:
    row: dict[str, Any]

    def check_client(self, client: Client) -> bool:
        return bool(self.row["client_id"] == client.id)

    def get_scope(self) -> str:
        return str(self.row["scope"])


@dataclass
class TokenView:
    """A token presented to /oauth/revoke or /oauth/introspect: an access token (its claims)
    or a refresh token (its row)."""

    kind: str  # "access_token" | "refresh_token"
    client_id: str
    claims: dict[str, Any] = field(default_factory=dict)
    row: dict[str, Any] = field(default_factory=dict)
    revoked: bool = False

    def check_client(self, client: Client) -> bool:
        return self.client_id == client.id

    def is_expired(self) -> bool:
        if self.kind == "access_token":
            return bool(self.claims["exp"] < time.time())
        return bool(_as_datetime(self.row["expires_at"]) < utcnow())

    def is_revoked(self) -> bool:
        return self.revoked

    def get_scope(self) -> str:
        return str(self.claims.get("scope", "") if self.kind == "access_token" else self.row["scope"])


def _as_datetime(value: datetime | str) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


# -- one request's state ---------------------------------------------------------------------


class Vetoed(Exception):
    """A queued write found its precondition gone (a code or refresh token spent meanwhile)."""


Write = Callable[[], Awaitable[bool]]


@dataclass
class Exchange:
    issuer: str
    access_token_seconds: int
    refresh_token_days: int
    clients: dict[str, Client] = field(default_factory=dict)
    code: dict[str, Any] | None = None
    refresh: dict[str, Any] | None = None
    #: the token presented to /revoke or /introspect, already looked up
    presented: TokenView | None = None
    #: the user who approved, on the consent step
    grantor: Grantor | None = None
    writes: list[Write] = field(default_factory=list)
    #: a family to revoke whatever the answer (a spent code or refresh token was presented)
    reused_grant: str | None = None
    #: every token family this exchange started or continued (revoked when it is vetoed)
    grant_id: str | None = None

    def client(self, client_id: str | None) -> Client | None:
        return self.clients.get(client_id or "")

    async def commit(self) -> None:
        """Run the queued writes in one transaction; `Vetoed` when one lost its race."""
        if not self.writes:
            return
        async with db().transaction():
            for write in self.writes:
                if not await write():
                    raise Vetoed()


_exchange: contextvars.ContextVar[Exchange] = contextvars.ContextVar("oauth_exchange")


def current() -> Exchange:
    return _exchange.get()


def run(exchange: Exchange, fn: Callable[[], Any]) -> Any:
    """Run authlib (synchronous) with `exchange` as its view of the world."""
    token = _exchange.set(exchange)
    try:
        return fn()
    finally:
        _exchange.reset(token)


# -- requests and responses -----------------------------------------------------------------


class Payload(BasicOAuth2Payload):  # type: ignore[misc]
    """Form or query parameters, keeping repeats so authlib can refuse them (RFC 6749 §3.1)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        # RFC 6749 §3.1: a parameter sent without a value is treated as omitted
        data = {key: value for key, value in pairs if value != ""}
        super().__init__(data)
        datalist: dict[str, list[str]] = {}
        for key, value in pairs:
            if value != "":
                datalist.setdefault(key, []).append(value)
        self._datalist = datalist


class Request(OAuth2Request):  # type: ignore[misc]
    """authlib's request over our parsed parameters.

    authlib refuses a plain-http URI (`InsecureTransportError`) in the constructor; that is the
    only use it makes of the URI. Transport is the deployment's business here: a configured
    `GATEWAY_OAUTH_ISSUER` must be https (Settings checks it) and TLS may end at a proxy, so
    the scheme this process sees proves nothing; without it the gateway runs in development
    mode. So the attributes are set here rather than by `OAuth2Request.__init__`.
    """

    def __init__(self, method: str, uri: str, headers: Any, pairs: list[tuple[str, str]], args: Any = None) -> None:
        self.method = method
        self.uri = uri
        self.headers = headers
        self._body = None
        self.payload = Payload(pairs)
        self.client = None
        self.auth_method = None
        self.user = None
        self.authorization_code = None
        self.refresh_token = None
        self.credential = None
        self._scope = None
        self._args = args or {}

    @property
    def form(self) -> dict[str, str]:
        return self.payload.data  # type: ignore[no-any-return]

    @property
    def args(self) -> Any:
        return self._args


def repeated(pairs: list[tuple[str, str]]) -> str | None:
    """The first parameter given twice, if any (RFC 6749 §3.1: never allowed)."""
    seen: set[str] = set()
    for key, value in pairs:
        if value == "":
            continue
        if key in seen:
            return key
        seen.add(key)
    return None


@dataclass
class Reply:
    status: int
    body: Any
    headers: list[tuple[str, str]]

    @property
    def location(self) -> str | None:
        return next((value for name, value in self.headers if name.lower() == "location"), None)

    @location.setter
    def location(self, value: str) -> None:
        self.headers = [(n, v) for n, v in self.headers if n.lower() != "location"] + [("Location", value)]


# -- the grants -----------------------------------------------------------------------------


class S256Required(CodeChallenge):  # type: ignore[misc]
    """PKCE for every client and every request, `S256` only (RFC 9700 §2.1.1)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge and code_challenge_method=S256")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256")
        super().validate_code_challenge(grant, redirect_uri)


class CodeGrant(rfc6749_grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ANY_AUTH

    def save_authorization_code(self, code: str, request: Any) -> None:
        exchange = current()
        grantor = request.user
        payload = request.payload
        row = {
            "id": digest(code),
            "tenant_id": request.client.tenant_id,
            "client_id": request.client.id,
            "user_id": grantor.user_id,
            "authorization_id": grantor.authorization_id,
            "redirect_uri": payload.redirect_uri or "",
            "scope": request.scope or "",
            "code_challenge": payload.data["code_challenge"],
            "code_challenge_method": payload.data["code_challenge_method"],
            "expires_at": utcnow() + timedelta(seconds=CODE_SECONDS),
            "created_at": utcnow(),
        }

        async def insert() -> bool:
            await db().fetch(
                f"INSERT INTO oauth_codes ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})", *row.values()
            )
            return True

        exchange.writes.append(insert)

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        row = current().code
        if row is None or row["id"] != digest(code) or row["client_id"] != client.id:
            return None
        if row["used_at"] is not None:
            current().reused_grant = row["grant_id"]
            return None
        if _as_datetime(row["expires_at"]) < utcnow() or not row["usable"]:
            return None
        return Code(row)

    def delete_authorization_code(self, authorization_code: Code) -> None:
        exchange = current()
        code_id, grant_id = authorization_code.row["id"], exchange.grant_id

        async def spend() -> bool:
            spent = await db().fetch(
                "UPDATE oauth_codes SET used_at = ?, grant_id = ? WHERE id = ? AND used_at IS NULL RETURNING id",
                utcnow(),
                grant_id,
                code_id,
            )
            return bool(spent)

        exchange.writes.insert(0, spend)  # first: a lost race writes nothing else

    def authenticate_user(self, authorization_code: Code) -> Grantor:
        row = authorization_code.row
        exchange = current()
        exchange.grant_id = new_id("grt")
        return Grantor(row["user_id"], row["owner_type"], row["owner_id"], row["authorization_id"], exchange.grant_id)


class RefreshGrant(rfc6749_grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ANY_AUTH
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotate on every use

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshToken | None:
        row = current().refresh
        if row is None or row["id"] != digest(refresh_token):
            return None
        if row["revoked_at"] is not None:
            return None
        if row["used_at"] is not None:  # a spent token again: stolen, or a replay
            current().reused_grant = row["grant_id"]
            return None
        if _as_datetime(row["expires_at"]) < utcnow() or not row["usable"]:
            return None
        return RefreshToken(row)

    def authenticate_user(self, refresh_token: RefreshToken) -> Grantor:
        row = refresh_token.row
        current().grant_id = row["grant_id"]
        return Grantor(row["user_id"], row["owner_type"], row["owner_id"], row["authorization_id"], row["grant_id"])

    def revoke_old_credential(self, refresh_token: RefreshToken) -> None:
        exchange = current()
        token_id = refresh_token.row["id"]

        async def spend() -> bool:
            spent = await db().fetch(
                "UPDATE oauth_refresh_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL "
                "RETURNING id",
                utcnow(),
                token_id,
            )
            if not spent:
                exchange.reused_grant = refresh_token.row["grant_id"]
            return bool(spent)

        exchange.writes.insert(0, spend)


class ClientCredentialsGrant(rfc6749_grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = SECRET_AUTH  # authlib's default is Basic only


# -- revocation and introspection -----------------------------------------------------------


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = ANY_AUTH

    def query_token(self, token_string: str, token_type_hint: str | None) -> TokenView | None:
        return current().presented  # looked up by the adapter, whichever kind it is

    def revoke_token(self, token: TokenView, request: Any) -> None:
        exchange = current()

        async def write() -> bool:
            if token.kind == "access_token":
                await revocation.revoke([f"jti:{token.claims['jti']}"])
            else:  # a refresh token: its family and every access token of it (RFC 7009 §2.1)
                await revoke_grant(token.row["grant_id"])
            return True

        exchange.writes.append(write)


class Introspection(IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = SECRET_AUTH

    def query_token(self, token_string: str, token_type_hint: str | None) -> TokenView | None:
        return current().presented

    def check_permission(self, token: TokenView, client: Client, request: Any) -> bool:
        return token.client_id == client.id  # a client introspects only its own tokens

    def introspect_token(self, token: TokenView) -> dict[str, Any]:
        if token.kind == "access_token":
            claims = token.claims
            return {
                "active": True,
                "token_type": "Bearer",
                **{
                    k: claims[k]
                    for k in ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti")
                    if k in claims
                },
                "tenant_id": claims["tenant_id"],
                "owner": claims["owner"],
            }
        row = token.row
        return {
            "active": True,
            "token_type": "refresh_token",
            "scope": row["scope"],
            "client_id": row["client_id"],
            "sub": row["user_id"],
            "exp": int(_as_datetime(row["expires_at"]).timestamp()),
            "iat": int(_as_datetime(row["issued_at"]).timestamp()),
            "iss": current().issuer,
        }


async def revoke_grant(grant_id: str) -> None:
    """End a token family: its refresh tokens and every access token issued from it."""
    await db().fetch(
        "UPDATE oauth_refresh_tokens SET revoked_at = ? WHERE grant_id = ? AND revoked_at IS NULL", utcnow(), grant_id
    )
    await revocation.revoke([f"grant:{grant_id}"], everything=True)


# -- tokens ---------------------------------------------------------------------------------


class TokenGenerator(JWTBearerTokenGenerator):  # type: ignore[misc]
    """RFC 9068 access tokens (authlib + joserfc), signed by the current key of the ring, plus
    the claims the gateway needs: the tenant, the party, and what can revoke the token."""

    def __init__(self) -> None:
        super().__init__(issuer="", alg=ALG, refresh_token_generator=_refresh_token, expires_generator=_lifetime)

    @property
    def issuer(self) -> str:
        return current().issuer

    @issuer.setter
    def issuer(self, _: str) -> None:  # set by authlib's __init__; the issuer is per exchange
        pass

    def get_jwks(self) -> KeySet:
        if ring.current is None:
            raise RuntimeError("no current signing key: the keyring was not loaded")
        return KeySet([ring.current])

    def get_audiences(self, client: Client, user: Grantor | None, scope: str) -> str:
        return tokens.audience(current().issuer)

    def get_jti(self, client: Client, grant_type: str, user: Grantor | None, scope: str) -> str:
        return tokens.new_jti()

    def get_extra_claims(self, client: Client, grant_type: str, user: Grantor | None, scope: str) -> dict[str, Any]:
        if user is None:  # client credentials: the client acts for its owner
            return {"tenant_id": client.tenant_id, "owner": {"type": client.owner_type, "id": client.owner_id}}
        return {
            "tenant_id": client.tenant_id,
            "owner": {"type": user.owner_type, "id": user.owner_id},
            "authorization_id": user.authorization_id,
            "grant_id": user.grant_id,
        }


def _lifetime(client: Client, grant_type: str) -> int:
    return current().access_token_seconds


def _refresh_token(client: Client, grant_type: str, user: Grantor | None, scope: str) -> str:
    return "rt_" + secrets.token_urlsafe(32)


class Server(AuthorizationServer):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__(scopes_supported=list(scopes.ALL_SCOPES))
        self.register_token_generator("default", TokenGenerator())
        self.register_grant(CodeGrant, [S256Required(required=True)])
        self.register_grant(RefreshGrant)
        self.register_grant(ClientCredentialsGrant)
        self.register_endpoint(Revocation)
        self.register_endpoint(Introspection)
        self.register_extension(_Issuer())

    def query_client(self, client_id: str) -> Client | None:
        return current().client(client_id)

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        refresh = token.get("refresh_token")
        if not refresh:
            return  # access tokens are not stored: they are verified by signature
        exchange = current()
        grantor: Grantor = request.user
        now = utcnow()
        row = {
            "id": digest(refresh),
            "tenant_id": request.client.tenant_id,
            "client_id": request.client.id,
            "user_id": grantor.user_id,
            "authorization_id": grantor.authorization_id,
            "grant_id": grantor.grant_id,
            "scope": token.get("scope", ""),
            "issued_at": now,
            "expires_at": now + timedelta(days=exchange.refresh_token_days),
        }

        async def insert() -> bool:
            await db().fetch(
                f"INSERT INTO oauth_refresh_tokens ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
                *row.values(),
            )
            return True

        exchange.writes.append(insert)

    def create_oauth2_request(self, request: Any) -> Any:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> Reply:
        return Reply(status, body, list(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass


class _Issuer(IssuerParameter):  # type: ignore[misc]
    def get_issuer(self) -> str:
        return current().issuer


server = Server()


def wrong_grant() -> Reply:
    """What a lost race for a code or refresh token answers."""
    return server.handle_error_response(None, InvalidGrantError("The grant was already used."))  # type: ignore[no-any-return]
