"""Exceptions: every problem the gateway answers (RFC 9457) becomes a typed `APIError`.

try:
    client.orders.create(lines=[Line(sku="X", qty=1)], destination=Destination(lat=30.2, lng=120.1))
except OutOfStock as problem:
    print(problem.status, problem.type, problem.detail)
except ValidationFailed as problem:
    for error in problem.errors:
        print(error.get("field"), error.get("message"))
"""

from __future__ import annotations

from typing import Any


class GatewayError(Exception):
    """Base of every error the SDK raises."""


class ConnectionFailed(GatewayError):
    """The gateway could not be reached (after the retries), or the connection dropped."""


class WebhookVerificationError(GatewayError):
    """A webhook's signature, timestamp or headers do not check out: do not trust the body."""


class APIError(GatewayError):
    """A problem answer (`application/problem+json`) with its fields.

    `type`, `title`, `status`, `detail`, `instance` are RFC 9457's; `errors` lists the bad
    fields of a validation problem; `extra` keeps any other member; `request_id` is the
    `X-Request-Id` to quote to the operator.
    """

    def __init__(
        self,
        status: int,
        type: str = "about:blank",
        title: str = "",
        detail: str | None = None,
        instance: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.type = type
        self.title = title
        self.detail = detail
        self.instance = instance
        self.errors = errors or []
        self.extra = extra or {}
        self.request_id = request_id
        self.retry_after = retry_after
        super().__init__(f"{status} {title}: {detail}" if detail else f"{status} {title}")


class BadRequest(APIError):
    """400: the request could not be read."""


class AuthenticationFailed(APIError):
    """401: no credential, an unknown or revoked key, an expired token."""


class PermissionDenied(APIError):
    """403: the credential may not do this (a missing scope, another party's object)."""


class NotFound(APIError):
    """404: no such object in this tenant."""


class Conflict(APIError):
    """409: a stale `version`, a request still in flight with this idempotency key, a state
    that does not allow the transition."""


class OutOfStock(Conflict):
    """409 whose problem type names `out-of-stock` or `no-location`: no location can fill it."""


class PayloadTooLarge(APIError):
    """413: too many items or too large a body."""


class ValidationFailed(BadRequest):
    """400 whose problem type is `validation`: `errors` names each bad field."""


class Unprocessable(APIError):
    """422: well-formed but refused as it stands (an `Idempotency-Key` reused with another
    body, a state that does not allow it)."""


class RateLimited(APIError):
    """429 after the retries ran out; `retry_after` says how long the gateway asked to wait."""


class ServerError(APIError):
    """5xx after the retries ran out."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequest,
    401: AuthenticationFailed,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: Unprocessable,
    429: RateLimited,
}


def error_class(status: int, problem_type: str) -> type[APIError]:
    """The exception class of a problem answer."""
    if status == 409 and ("out-of-stock" in problem_type or "no-location" in problem_type):
        return OutOfStock
    if status in (400, 422) and problem_type.rstrip("/").endswith("validation"):
        return ValidationFailed
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, APIError)
