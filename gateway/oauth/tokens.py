"""Access tokens: RFC 9068 JWTs, and their verification on every request.

A token says who acts (`tenant_id`, `owner`: the party), through which app (`client_id`), for
whom (`sub`: the user, or the client itself for client credentials), with what (`scope`), and
what can revoke it (`jti`, `grant_id`, `authorization_id`; see gateway.oauth.revocation).

Verification is local: signature (ES256 only: `alg: none`, HS256 and the rest are refused),
`typ: at+jwt` (RFC 9068 §4: a resource server MUST check it; authlib's validator lets a missing
`typ` through), issuer, audience, expiry, then the in-memory revocation check. A token verified
once is remembered until it expires (the dict `_verified`, keyed by the token itself), so a
client that reuses its token pays for the signature once; expiry, issuer and revocation are
still checked on every request.
"""

from __future__ import annotations

import time
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwt import JWTClaimsRegistry

from gateway.http.problems import ProblemError
from gateway.ids import new_id
from gateway.oauth import revocation, scopes
from gateway.oauth.keyring import ALG, ring
from gateway.tenancy.principal import Principal

TYP = "at+jwt"
LEEWAY_SECONDS = 30
_MAX_CACHED = 50_000


class Verified:
    """What a verified token grants, and what is checked again on each use."""

    __slots__ = ("expires", "generation", "issued_at", "issuer", "principal", "revocable")

    def __init__(self, principal: Principal, issuer: str, issued_at: int, expires: int, revocable: tuple[str, ...]):
        self.principal = principal
        self.issuer = issuer
        self.issued_at = issued_at
        self.expires = expires
        self.revocable = revocable
        self.generation = ring.generation


_verified: dict[str, Verified] = {}


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and len(token) < 8192


def audience(issuer: str) -> str:
    """The API the tokens are for: the `/v1` API of this issuer."""
    return f"{issuer}/v1"


def new_jti() -> str:
    """A token id that also says when the token was issued, to the millisecond (a ULID), so a
    revocation recorded in the same second as a re-issue refuses only the older token."""
    return new_id("at")


def issued_ms(claims: dict[str, Any]) -> int:
    """When the token was issued, in unix milliseconds: from its `jti` when it is one of ours,
    else the end of its `iat` second (erring towards "revoked")."""
    jti = claims.get("jti")
    if isinstance(jti, str) and jti.startswith("at_") and len(jti) == 29:
        value = 0
        for char in jti[3:13]:
            index = _CROCKFORD.find(char)
            if index < 0:
                break
            value = value * 32 + index
        else:
            return value
    return int(claims["iat"]) * 1000 + 999


_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def revocable_keys(claims: dict[str, Any]) -> tuple[str, ...]:
    owner = claims.get("owner") or {}
    keys = [f"jti:{claims['jti']}", f"client:{claims['client_id']}"]
    for claim, prefix in (("grant_id", "grant"), ("authorization_id", "authorization")):
        if claims.get(claim):
            keys.append(f"{prefix}:{claims[claim]}")
    if claims.get("sub") and claims["sub"] != claims["client_id"]:
        keys.append(f"user:{claims['sub']}")
    if owner.get("id"):
        keys.append(f"party:{owner['id']}")
    return tuple(keys)


def _registry(issuer: str) -> JWTClaimsRegistry:
    return JWTClaimsRegistry(
        leeway=LEEWAY_SECONDS,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": audience(issuer)},
        exp={"essential": True},
        iat={"essential": True},
        sub={"essential": True},
        jti={"essential": True},
        client_id={"essential": True},
        tenant_id={"essential": True},
        owner={"essential": True},
    )


def _principal(claims: dict[str, Any]) -> Principal | None:
    owner = claims.get("owner")
    if not isinstance(owner, dict) or owner.get("type") not in ("operator", "supplier", "channel"):
        return None
    owner_id = owner.get("id")
    if (owner["type"] == "operator") != (owner_id is None):
        return None
    tenant_id, client_id, scope = claims.get("tenant_id"), claims.get("client_id"), claims.get("scope", "")
    if not (isinstance(tenant_id, str) and isinstance(client_id, str) and isinstance(scope, str)):
        return None
    if not isinstance(claims.get("iat"), int) or not isinstance(claims.get("exp"), int):
        return None
    sub = claims.get("sub")
    return Principal(
        tenant_id=tenant_id,
        type=owner["type"],
        owner_id=owner_id,
        key_id=client_id,
        key_kind="token",
        scopes=scopes.expand(scopes.parse(scope)),
        client_id=client_id,
        user_id=sub if isinstance(sub, str) and sub != client_id else None,
    )


def decode(token: str, issuer: str) -> dict[str, Any] | None:
    """The claims of a token this issuer signed and that is valid now, or None."""
    try:
        decoded = jwt.decode(token, ring.verifying, algorithms=[ALG])
    except (JoseError, ValueError, KeyError, TypeError):
        return None
    if str(decoded.header.get("typ", "")).lower() not in (TYP, f"application/{TYP}"):
        return None
    try:
        _registry(issuer).validate(decoded.claims)
    except (JoseError, ValueError, TypeError):
        return None
    return decoded.claims


async def verify(token: str, issuer: str) -> Principal | None:
    """The principal an access token stands for, or None (bad, expired, foreign or revoked)."""
    now = int(time.time())
    known = _verified.get(token)
    if known is None or known.generation != ring.generation:
        await ring.reload_if_due()
        claims = decode(token, issuer)
        if claims is None and await _unknown_key(token):
            claims = decode(token, issuer)  # signed by a key this process had not loaded yet
        principal = _principal(claims) if claims is not None else None
        if principal is None or claims is None:
            return None
        known = Verified(principal, issuer, issued_ms(claims), claims["exp"], revocable_keys(claims))
        _remember(token, known)
    if known.issuer != issuer or now > known.expires + LEEWAY_SECONDS:
        return None
    try:
        await revocation.ensure_fresh()
    except Exception as error:  # the database cannot say what was revoked: do not guess
        raise ProblemError(
            503, "Cannot check token revocations right now; retry shortly", headers={"Retry-After": "1"}
        ) from error
    if revocation.cache.revoked(known.revocable, known.issued_at):
        return None
    return known.principal


async def _unknown_key(token: str) -> bool:
    """Whether the token names a key we do not hold, after reloading the ring (rate-limited)."""
    try:
        kid = jws.extract_compact(token.encode()).headers().get("kid")
    except (JoseError, ValueError, TypeError):
        return False
    if not kid or any(key.kid == kid for key in ring.verifying.keys):
        return False
    return await ring.reload_soon()


def _remember(token: str, verified: Verified) -> None:
    if len(_verified) >= _MAX_CACHED:
        now = time.time()
        for stale in [t for t, v in _verified.items() if v.expires < now or v.generation != ring.generation]:
            del _verified[stale]
        if len(_verified) >= _MAX_CACHED:
            _verified.clear()
    _verified[token] = verified
