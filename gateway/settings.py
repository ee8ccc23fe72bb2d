"""Settings, read once from `GATEWAY_*` environment variables (DESIGN §11) and validated before
anything starts.

Every field has a type and a range (msgspec `Meta` constraints, checked by `from_env`). A bad
value raises `SettingsError` with one line naming the variable, the value and what is expected;
every `gateway` command prints it and exits with status 2, so a typo never starts a process that
fails later, request by request.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

Dialect = Literal["sqlite", "postgres"]
_SECRET_FIELDS = frozenset({"data_keys", "index_key", "metrics_token"})

Seconds = Annotated[int, Meta(ge=1, le=86_400)]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class SettingsError(ValueError):
    """A `GATEWAY_*` variable has a value the gateway cannot run with."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    #: `sqlite:///path` or `postgresql://user:password@host:port/db?sslmode=...`
    database_url: Annotated[str, Meta(pattern=r"^(sqlite:///|postgres://|postgresql://)")] = "sqlite:///./gateway.db"
    redis_url: Annotated[str, Meta(pattern=r"^(redis|rediss|unix)://")] | None = None
    #: how long a Redis call may take before the gateway goes on without it (fails open)
    redis_timeout_seconds: Annotated[float, Meta(gt=0, le=10)] = 0.25
    #: requests per window per credential
    rate_limit: Annotated[int, Meta(ge=1, le=100_000_000)] = 600
    rate_limit_window_seconds: Seconds = 60
    #: requests per window per client address that carry no valid credential (no key, a bad
    #: key, public pages), counted before authentication
    address_rate_limit: Annotated[int, Meta(ge=1, le=100_000_000)] = 300
    #: addresses or networks of proxies whose `X-Forwarded-For` names the client (comma-separated)
    trusted_proxies: str = ""
    #: failures of a guarded action (pickup codes, logins) before it locks, per account and address
    lockout_failures: Annotated[int, Meta(ge=1, le=1000)] = 5
    #: how long a lockout lasts, and the window its failures are counted in
    lockout_seconds: Seconds = 900
    #: largest request body accepted, in bytes; above it a 413 problem
    max_body_bytes: Annotated[int, Meta(ge=1024, le=1024**3)] = 8 * 1024 * 1024
    #: PostgreSQL pool size per process
    pool_size: Annotated[int, Meta(ge=1, le=1000)] = 10
    log_level: LogLevel = "INFO"
    idempotency_retention_hours: Annotated[int, Meta(ge=24, le=24 * 366)] = 48
    #: how often expired reservations are released and missed acceptance deadlines re-routed
    reservation_sweep_seconds: Annotated[int, Meta(ge=1, le=3600)] = 5
    #: run the registered background jobs in this process (`gateway serve`); false when separate
    #: `gateway worker` processes do it
    background: bool = True
    #: bearer token that `GET /metrics` requires; unset: /metrics answers 404
    metrics_token: Annotated[str, Meta(min_length=16, max_length=512)] | None = None
    #: keys that encrypt consumer personal data (gateway.crypto): `id:base64url,id2:...`, 32-byte
    #: keys, the first encrypts and all decrypt. Unset on SQLite: a key file next to the database.
    data_keys: str | None = None
    #: the key of blind indexes (lookups by HMAC of a value); never rotated with `data_keys`
    index_key: str | None = None
    #: storefront (DESIGN §13): publishable keys may name `http://localhost:*` and
    #: `http://127.0.0.1:*` as allowed origins, and those are honoured (development only)
    storefront_allow_localhost: bool = False
    #: how long a cart holds its stock
    storefront_cart_ttl_seconds: Annotated[int, Meta(ge=30, le=3600)] = 600
    #: the most lines, and units over all lines, one cart may hold
    storefront_max_cart_lines: Annotated[int, Meta(ge=1, le=200)] = 20
    storefront_max_cart_units: Annotated[int, Meta(ge=1, le=10_000)] = 50
    #: the most open (unexpired, unordered) carts one key, and one client address, may hold
    storefront_max_open_carts_per_key: Annotated[int, Meta(ge=1, le=1_000_000)] = 2000
    storefront_max_open_carts_per_address: Annotated[int, Meta(ge=1, le=10_000)] = 5
    #: the OAuth issuer (`iss` of tokens, base of /oauth/...): this gateway's public https URL.
    #: Unset: the URL each request came to (development; tokens then work only at that URL)
    oauth_issuer: Annotated[str, Meta(pattern=r"^https?://[^/?#]+(/[^?#]*)?$", max_length=512)] | None = None
    #: lifetime of OAuth access tokens (JWTs), seconds
    oauth_access_token_seconds: Annotated[int, Meta(ge=60, le=86_400)] = 3600
    #: lifetime of a refresh token (each use issues a new one), days
    oauth_refresh_token_days: Annotated[int, Meta(ge=1, le=365)] = 30
    #: allow webhook endpoints on `http` and loopback addresses (development and tests only)
    webhooks_allow_insecure: bool = False
    #: waits after successive failed webhook attempts, e.g. `5s,5m,30m,2h`; unset: the default
    #: (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h: ten attempts over 75 hours)
    webhooks_retry_schedule: Annotated[str, Meta(max_length=1000)] | None = None
    #: a webhook endpoint is disabled after this many deliveries dead-lettered in a row
    webhooks_disable_after: Annotated[int, Meta(ge=1, le=1_000_000)] = 10
    #: how long one webhook attempt may take (connect, send, answer)
    webhooks_timeout_seconds: Annotated[float, Meta(gt=0, le=60)] = 10.0
    #: webhook attempts in flight per process, and per endpoint within a process
    webhooks_concurrency: Annotated[int, Meta(ge=1, le=10_000)] = 64
    webhooks_endpoint_concurrency: Annotated[int, Meta(ge=1, le=1000)] = 8
    #: days finished webhook deliveries and their attempts are kept (then purged hourly)
    webhooks_retention_days: Annotated[int, Meta(ge=1, le=3660)] = 30
    #: how often an idle delivery worker looks for new events and due retries
    webhooks_poll_seconds: Annotated[float, Meta(ge=0.01, le=60)] = 0.1

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

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return _networks(self.trusted_proxies)

    @classmethod
    def from_env(cls, environ: dict[str, str] | os._Environ[str] | None = None) -> Settings:
        """The settings the environment names; `SettingsError` on the first bad value."""
        env = os.environ if environ is None else environ
        info = msgspec.inspect.type_info(cls)
        assert isinstance(info, msgspec.inspect.StructType)
        values: dict[str, Any] = {}
        for field in info.fields:
            variable = f"GATEWAY_{field.name.upper()}"
            raw = env.get(variable)
            if raw is None or raw.strip() == "":
                continue
            value = _parse(raw.strip(), field.type)
            try:
                msgspec.convert({field.name: value}, cls)  # every other field takes its default
                _check(field.name, value)
            except (msgspec.ValidationError, ValueError) as error:
                raise SettingsError(f"{variable}={raw!r}: expected {_expected(field.type, field.name)}") from error
            values[field.name] = value
        return msgspec.convert(values, cls)


def _networks(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())


def _check(name: str, value: Any) -> None:
    """What a type cannot say."""
    if name == "trusted_proxies":
        _networks(str(value))
    if name == "oauth_issuer":
        from urllib.parse import urlsplit

        parts = urlsplit(str(value))
        if parts.scheme != "https" and parts.hostname not in ("localhost", "127.0.0.1", "::1"):
            raise ValueError("an http issuer only on a loopback address")
    if name == "webhooks_retry_schedule":
        from gateway.webhooks.schedule import parse

        parse(str(value))


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _parse(raw: str, kind: msgspec.inspect.Type) -> Any:
    """The environment's text as the field's type; left as text when it does not parse (the
    conversion then reports it)."""
    if isinstance(kind, msgspec.inspect.UnionType):
        kind = next(t for t in kind.types if not isinstance(t, msgspec.inspect.NoneType))
    if isinstance(kind, msgspec.inspect.BoolType):
        lowered = raw.lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else raw
    if isinstance(kind, msgspec.inspect.IntType):
        try:
            return int(raw)
        except ValueError:
            return raw
    if isinstance(kind, msgspec.inspect.FloatType):
        try:
            return float(raw)
        except ValueError:
            return raw
    if isinstance(kind, msgspec.inspect.LiteralType):
        return raw.upper()
    return raw


def _expected(kind: msgspec.inspect.Type, name: str) -> str:
    if isinstance(kind, msgspec.inspect.UnionType):
        kind = next(t for t in kind.types if not isinstance(t, msgspec.inspect.NoneType))
    if name == "trusted_proxies":
        return "comma-separated IP addresses or networks (10.0.0.0/8, 192.0.2.7)"
    if name == "database_url":
        return "sqlite:///PATH or postgresql://USER@HOST:PORT/DATABASE[?sslmode=...]"
    if name == "webhooks_retry_schedule":
        return "comma-separated durations such as 5s,5m,30m,2h,1d"
    if name == "redis_url":
        return "redis://HOST:PORT/DB, rediss://... or unix://PATH"
    if name == "oauth_issuer":
        return "the gateway's public URL, https://HOST[/PATH] (http only on a loopback address)"
    if isinstance(kind, msgspec.inspect.BoolType):
        return "true or false"
    if isinstance(kind, msgspec.inspect.LiteralType):
        return "one of " + ", ".join(str(v) for v in kind.values)
    if isinstance(kind, msgspec.inspect.IntType | msgspec.inspect.FloatType):
        noun = "an integer" if isinstance(kind, msgspec.inspect.IntType) else "a number"
        if kind.ge is not None and kind.le is not None:
            return f"{noun} from {kind.ge} to {kind.le}"
        low = f"≥ {kind.ge}" if kind.ge is not None else f"> {kind.gt}" if kind.gt is not None else None
        high = f"≤ {kind.le}" if kind.le is not None else f"< {kind.lt}" if kind.lt is not None else None
        return " ".join(part for part in (noun, low, "and" if low and high else None, high) if part)
    if isinstance(kind, msgspec.inspect.StrType):
        if kind.min_length:
            return f"a text of at least {kind.min_length} characters"
        return "a text"
    return "a valid value"
