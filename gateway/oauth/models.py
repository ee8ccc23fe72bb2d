"""The authorization server's tables (DESIGN §9).

Secrets are never stored: client secrets, authorization codes and refresh tokens are random
and long, so their SHA-256 is kept (as for API keys). Access tokens are JWTs verified by
signature and not stored at all; what revokes them lives in `oauth_revocations`.
"""

from piccolo.columns import JSON, BigInt, Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class OAuthClient(Table, tablename="oauth_clients"):
    """An application: owned by the operator, a supplier or a channel."""

    id = Varchar(length=40, primary_key=True)  # the OAuth `client_id`
    tenant_id = Varchar(length=40)
    owner_type = Varchar(length=16)
    owner_id = Varchar(length=40, null=True, default=None)
    name = Varchar(length=200)
    #: a public client (mobile app, mini-program) has no secret and authenticates with `none`
    public = Boolean(default=False)
    secret_hash = Varchar(length=64, null=True, default=None)
    secret_prefix = Varchar(length=16, null=True, default=None)
    redirect_uris = JSON(default="[]")
    grant_types = JSON(default="[]")
    scopes = JSON(default="[]")
    status = Varchar(length=16, default="active")
    version = Integer(default=1)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    secret_rotated_at = Timestamptz(null=True, default=None)


class OAuthAuthorization(Table, tablename="oauth_authorizations"):
    """A consent record: a user let a client act for the user's party with these scopes."""

    id = Varchar(length=40, primary_key=True)
    tenant_id = Varchar(length=40)
    user_id = Varchar(length=40)
    client_id = Varchar(length=40)
    owner_type = Varchar(length=16)
    owner_id = Varchar(length=40, null=True, default=None)
    scopes = JSON(default="[]")
    status = Varchar(length=16, default="active")
    version = Integer(default=1)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)


class OAuthCode(Table, tablename="oauth_codes"):
    """An authorization code: single use, short-lived, bound to its PKCE challenge."""

    id = Varchar(length=64, primary_key=True)  # SHA-256 of the code
    tenant_id = Varchar(length=40)
    client_id = Varchar(length=40)
    user_id = Varchar(length=40)
    authorization_id = Varchar(length=40)
    redirect_uri = Text()
    scope = Text()
    code_challenge = Varchar(length=128)
    code_challenge_method = Varchar(length=8)
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    #: the token family the exchange started: revoked if the code is presented again
    grant_id = Varchar(length=40, null=True, default=None)
    created_at = Timestamptz()


class OAuthRefreshToken(Table, tablename="oauth_refresh_tokens"):
    """One refresh token of a family (`grant_id`): each use spends it and issues the next;
    presenting a spent one revokes the family."""

    id = Varchar(length=64, primary_key=True)  # SHA-256 of the token
    tenant_id = Varchar(length=40)
    client_id = Varchar(length=40, index=True)
    user_id = Varchar(length=40, index=True)
    authorization_id = Varchar(length=40, index=True)
    grant_id = Varchar(length=40, index=True)
    scope = Text()
    issued_at = Timestamptz()
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class OAuthRevocation(Table, tablename="oauth_revocations"):
    """What revokes access tokens before they expire: `key` names what the token carries
    (`jti:…`, `grant:…`, `authorization:…`, `client:…`, `user:…`, `party:…`), and every token
    carrying it issued at or before `before` (unix milliseconds) is refused. Every process keeps
    these in memory and polls for new ones (gateway.oauth.revocation)."""

    id = Varchar(length=40, primary_key=True)
    key = Varchar(length=120)
    before = BigInt()
    recorded_at = Timestamptz(index=True)
    #: after this every token it could refuse has expired anyway
    expires_at = Timestamptz(index=True)


class OAuthSigningKey(Table, tablename="oauth_signing_keys"):
    """The keyring that signs access tokens (ES256). `status`: `next` (published, not yet
    signing), `current` (signs; exactly one, held by the unique `current` marker), `previous`
    (published, verifies tokens it signed), `retired` (gone from the JWKS, private part erased).
    The private JWK is sealed with the data keys (gateway.crypto), like consumer data."""

    id = Varchar(length=40, primary_key=True)  # the JWK `kid`
    alg = Varchar(length=16)
    public_jwk = Text()
    private_jwk = Text(null=True, default=None)
    status = Varchar(length=16)
    current = Integer(null=True, default=None, unique=True)
    created_at = Timestamptz()
    activated_at = Timestamptz(null=True, default=None)
    deactivated_at = Timestamptz(null=True, default=None)
    retired_at = Timestamptz(null=True, default=None)
