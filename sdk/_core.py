"""The pure core that `Gateway` and `AsyncGateway` share: what a call sends, whether and when
to retry it, how an answer is read. No I/O here, so the two clients cannot drift apart and
every decision is tested without a network.
"""

from __future__ import annotations

import email.utils
import math
import os
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import msgspec

from sdk.errors import APIError, error_class

T = TypeVar("T")

DEFAULT_URL = "http://127.0.0.1:8000"
USER_AGENT = "gateway-sdk-python/0.1"
#: statuses worth another attempt: rate limited, or the gateway (or a proxy before it) failing
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

_json = msgspec.json.Encoder()


def base_url_from_env(base_url: str | None) -> str:
    return (base_url or os.environ.get("GATEWAY_URL") or DEFAULT_URL).rstrip("/")


def new_idempotency_key() -> str:
    return "sdk_" + uuid.uuid4().hex


@dataclass(frozen=True)
class Call(Generic[T]):
    """One logical API call: everything needed to send it, and to send it again.

    `idempotency_key` is fixed when the call is built, so every retry of it carries the same
    key and the gateway applies it once. `retry_safe` says whether a dropped connection or a
    5xx may be retried (POSTs are, thanks to the key; a PATCH is not: only a 429, which the
    gateway answers before doing anything, is retried).
    """

    method: str
    path: str
    into: type[T] | None
    params: Mapping[str, Any] = field(default_factory=dict)
    body: bytes | None = None
    idempotency_key: str | None = None
    retry_safe: bool = True


def get(path: str, into: type[T], **params: Any) -> Call[T]:
    return Call("GET", path, into, params=clean_params(params))


def post(
    path: str, into: type[T] | None, body: Any = None, idempotency_key: str | None = None, **params: Any
) -> Call[T]:
    """A POST that creates or moves something: it always carries an `Idempotency-Key`
    (the one given, else a new one), kept across its retries."""
    return Call(
        "POST",
        path,
        into,
        params=clean_params(params),
        body=_json.encode(body) if body is not None else None,
        idempotency_key=idempotency_key or new_idempotency_key(),
    )


def patch(path: str, into: type[T], body: Any) -> Call[T]:
    return Call("PATCH", path, into, body=_json.encode(body), retry_safe=False)


def delete(path: str) -> Call[None]:
    return Call("DELETE", path, None)


def clean_params(params: Mapping[str, Any]) -> dict[str, str]:
    """Query parameters as the gateway reads them: None left out, booleans as true/false."""
    out: dict[str, str] = {}
    for name, value in params.items():
        if value is None:
            continue
        out[name.rstrip("_")] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


def headers_for(call: Call[Any], authorization: str | None, request_id: str | None = None) -> dict[str, str]:
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
    if authorization:
        headers["Authorization"] = authorization
    if call.body is not None:
        headers["Content-Type"] = "application/json"
    if call.idempotency_key:
        headers["Idempotency-Key"] = call.idempotency_key
    if request_id:
        headers["X-Request-Id"] = request_id
    return headers


# -- retries -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter; `Retry-After` honoured when the gateway sends it.

    `max_retries` more attempts after the first; the n-th waits a random time up to
    `backoff * 2**n` (capped at `max_backoff`), or at least `Retry-After` when given. A
    `Retry-After` longer than `max_retry_after` is not waited for: the error is raised with it,
    so a cron job is not held for an hour.
    """

    max_retries: int = 4
    backoff: float = 0.5
    max_backoff: float = 30.0
    max_retry_after: float = 120.0


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP-date (RFC 9110).

    >>> parse_retry_after("3")
    3.0
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:05 GMT", datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC))
    5.0
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(seconds, 0.0)


def retry_delay(
    policy: RetryPolicy,
    call: Call[Any],
    attempt: int,
    status: int | None,
    retry_after: str | None = None,
    now: datetime | None = None,
    rand: Callable[[], float] = random.random,
) -> float | None:
    """How long to wait before attempt `attempt + 1`, or None not to retry.

    `status` is None for a connection that failed or dropped. `attempt` counts the retries
    already made (0 after the first attempt).
    """
    if attempt >= policy.max_retries:
        return None
    if status is not None and status not in RETRY_STATUSES:
        return None
    if not call.retry_safe and status != 429:
        return None
    jittered = rand() * min(policy.max_backoff, policy.backoff * 2**attempt)
    asked = parse_retry_after(retry_after, now)
    if asked is None:
        return jittered
    if asked > policy.max_retry_after:
        return None
    # at least what was asked; a little spread on top so many clients do not return at once
    return asked + rand() * min(policy.backoff, policy.max_backoff)


# -- answers -------------------------------------------------------------------------------------


def decode(call: Call[T], status: int, headers: Mapping[str, str], content: bytes) -> T:
    """The answer's struct, or the problem it carries raised as a typed `APIError`."""
    if status >= 400:
        raise problem(status, headers, content)
    if call.into is None or status == 204 or not content:
        return None  # type: ignore[return-value]
    return msgspec.json.decode(content, type=call.into)


_PROBLEM_FIELDS = frozenset({"type", "title", "status", "detail", "instance", "errors"})


def problem(status: int, headers: Mapping[str, str], content: bytes) -> APIError:
    """An RFC 9457 problem (or any other error answer) as the matching exception."""
    body: dict[str, Any] = {}
    try:
        decoded = msgspec.json.decode(content) if content else {}
        if isinstance(decoded, dict):
            body = decoded
    except msgspec.DecodeError:
        body = {"detail": content[:500].decode("utf-8", "replace")}
    problem_type = str(body.get("type") or "about:blank")
    errors = body.get("errors")
    # an OAuth error (RFC 6749 §5.2, from /oauth/token) has `error` and `error_description`
    return error_class(status, problem_type)(
        status=status,
        type=problem_type,
        title=str(body.get("title") or body.get("error") or ""),
        detail=body.get("detail") or body.get("error_description"),
        instance=body.get("instance"),
        errors=errors if isinstance(errors, list) else None,
        extra={k: v for k, v in body.items() if k not in _PROBLEM_FIELDS},
        request_id=headers.get("x-request-id"),
        retry_after=parse_retry_after(headers.get("retry-after")),
    )


# -- OAuth client credentials -------------------------------------------------------------------


@dataclass
class TokenState:
    """The current access token and when (monotonic seconds) to stop using it."""

    access_token: str | None = None
    renew_at: float = 0.0

    def valid(self, now: float) -> bool:
        return self.access_token is not None and now < self.renew_at

    def store(self, token: Any, now: float) -> None:
        """Keep a fresh token; renew it a minute (or a tenth of its life) before it expires."""
        self.access_token = token.access_token
        life = float(token.expires_in)
        self.renew_at = now + life - min(60.0, life / 10)

    def drop(self) -> None:
        self.access_token = None
        self.renew_at = 0.0


def token_form(scope: str | None) -> dict[str, str]:
    form = {"grant_type": "client_credentials"}
    if scope:
        form["scope"] = scope
    return form


@dataclass(frozen=True)
class Credentials:
    """A secret key, or an OAuth client (id + secret, with the scopes to ask for)."""

    api_key: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    scope: str | None = None

    @classmethod
    def resolve(
        cls,
        api_key: str | None,
        client_id: str | None,
        client_secret: str | None,
        scope: str | None,
    ) -> Credentials:
        """What was given, else the environment: `GATEWAY_API_KEY`, or `GATEWAY_CLIENT_ID` +
        `GATEWAY_CLIENT_SECRET` (+ `GATEWAY_SCOPE`)."""
        if api_key or client_id:
            credentials = cls(api_key, client_id, client_secret, scope)
        else:
            credentials = cls(
                os.environ.get("GATEWAY_API_KEY") or None,
                os.environ.get("GATEWAY_CLIENT_ID") or None,
                os.environ.get("GATEWAY_CLIENT_SECRET") or None,
                scope or os.environ.get("GATEWAY_SCOPE") or None,
            )
        if credentials.api_key is None and (credentials.client_id is None or credentials.client_secret is None):
            raise ValueError(
                "no credential: pass api_key=, or client_id= and client_secret= "
                "(or set GATEWAY_API_KEY, or GATEWAY_CLIENT_ID and GATEWAY_CLIENT_SECRET)"
            )
        return credentials

    @property
    def oauth(self) -> bool:
        return self.api_key is None
