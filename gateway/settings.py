"""Settings, read once from `GATEWAY_*` environment variables (DESIGN §11)."""

from __future__ import annotations

import os
from typing import Literal

import msgspec

Dialect = Literal["sqlite", "postgres"]
_SECRET_FIELDS = frozenset({"data_keys", "index_key"})


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str = "sqlite:///./gateway.db"
    redis_url: str | None = None
    #: requests per window per credential (or per client address before authentication)
    rate_limit: int = 600
    rate_limit_window_seconds: int = 60
    #: largest request body accepted, in bytes; above it a 413 problem
    max_body_bytes: int = 8 * 1024 * 1024
    #: PostgreSQL pool size per process
    pool_size: int = 10
    log_level: str = "INFO"
    #: seconds an in-flight idempotency claim is honoured before a retry may take it over
    idempotency_lock_seconds: int = 60
    idempotency_retention_hours: int = 48
    #: how often expired reservations are released
    reservation_sweep_seconds: int = 5
    #: keys that encrypt consumer personal data (gateway.crypto): `id:base64url,id2:...`, 32-byte
    #: keys, the first encrypts and all decrypt. Unset on SQLite: a key file next to the database.
    data_keys: str | None = None
    #: the key of blind indexes (lookups by HMAC of a value); never rotated with `data_keys`
    index_key: str | None = None
    #: the OAuth issuer (`iss` of tokens, base of /oauth/...): this gateway's public https URL.
    #: Unset: the URL each request came to (development; tokens then work only at that URL)
    oauth_issuer: str | None = None
    #: lifetime of OAuth access tokens (JWTs), seconds
    oauth_access_token_seconds: int = 3600
    #: lifetime of a refresh token (each use issues a new one), days
    oauth_refresh_token_days: int = 30

    def __repr__(self) -> str:
        """Without the keys, so that logging the settings never leaks them."""
        shown = ", ".join(
            f"{name}={'<hidden>' if name in _SECRET_FIELDS and value is not None else repr(value)}"
            for name, value in msgspec.structs.asdict(self).items()
        )
        return f"Settings({shown})"

    @property
    def dialect(self) -> Dialect:
        return "postgres" if self.database_url.startswith(("postgres://", "postgresql://")) else "sqlite"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name, field_type in cls.__annotations__.items():
            raw = env.get(f"GATEWAY_{name.upper()}")
            if raw is None or raw == "":
                continue
            values[name] = int(raw) if field_type == "int" else raw
        return msgspec.convert(values, cls)
