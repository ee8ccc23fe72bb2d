"""RFC 9457 problem details: the one shape of every error (DESIGN §4).

Handlers raise `Problem…` exceptions; everything Litestar raises on its own (validation,
routing, body size) is translated here too, so no error leaves in another shape.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec

from gateway.metrics import DATABASE_UNAVAILABLE
from gateway.storage import is_unavailable

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("gateway.errors")


class FieldError(msgspec.Struct, kw_only=True):
    #: where the field is: a JSON path into the body (`items[0].qty`), or a parameter name
    field: str
    message: str
    #: `body`, `query`, `path` or `header`
    location: str = "body"


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


TITLES = {
    400: "Bad request",
    401: "Unauthenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Unprocessable request",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}
SLUGS = {
    400: "invalid-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "body-too-large",
    415: "unsupported-media-type",
    422: "unprocessable",
    429: "rate-limited",
    500: "internal",
    503: "unavailable",
}


def problem_type(slug: str) -> str:
    return f"/problems/{slug}"


class ProblemError(HTTPException):
    """An error the client can act on; rendered as a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        title: str | None = None,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail=detail, status_code=status, headers=headers)
        self.slug = slug or SLUGS.get(status, "error")
        self.title = title or TITLES.get(status, "Error")
        self.errors = errors

    def to_problem(self) -> Problem:
        return Problem(
            type=problem_type(self.slug),
            title=self.title,
            status=self.status_code,
            detail=self.detail,
            errors=self.errors,
        )


def not_found(kind: str, ident: str) -> ProblemError:
    """The one answer for a missing object and for another tenant's: same status, same body."""
    return ProblemError(404, f"No such {kind}: {ident}")


def conflict(detail: str, slug: str = "conflict") -> ProblemError:
    return ProblemError(409, detail, slug=slug)


def invalid(field: str, message: str, location: str = "body") -> ProblemError:
    return ProblemError(
        400,
        f"Invalid {field}: {message}",
        slug="validation",
        title="Validation failed",
        errors=[FieldError(field=field, message=message, location=location)],
    )


# -- translating what Litestar raises -------------------------------------------------------

_MSGSPEC_PATH = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_NAMED_FIELD = re.compile(r"(?:unknown|missing required) field `(?P<name>[^`]+)`")


def _field_path(message: str, path: str) -> str:
    """msgspec reports an unknown or missing field at its parent object; name the field itself."""
    path = path.lstrip(".")
    named = _NAMED_FIELD.search(message)
    if named:
        path = f"{path}.{named.group('name')}" if path else named.group("name")
    return path or "(body)"


def _field_errors(exc: ValidationException) -> list[FieldError]:
    """Litestar's validation details → one `FieldError` per bad field, with a JSON-ish path."""
    errors: list[FieldError] = []
    extra = exc.extra if isinstance(exc.extra, list) else [exc.extra] if exc.extra else []
    for item in extra:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "invalid value"))
        source = item.get("source") or "body"
        location = str(getattr(source, "value", source))
        key = str(item.get("key") or "")
        if location == "body" and key == "data":  # Litestar names the whole body after the handler argument
            key = ""
        match = _MSGSPEC_PATH.match(message)
        if match and match.group("path") is not None:
            message, key = match.group("message"), match.group("path")
        field = _field_path(message, key) if location == "body" else key or "(parameter)"
        errors.append(FieldError(field=field, message=message, location=location))
    if not errors:
        message = exc.detail or "invalid request"
        match = _MSGSPEC_PATH.match(message)
        path = ""
        if match and match.group("path") is not None:
            message, path = match.group("message"), match.group("path")
        errors.append(FieldError(field=_field_path(message, path), message=message))
    return errors


def _problem_for(exc: Exception) -> tuple[Problem, dict[str, str]]:
    if isinstance(exc, ProblemError):
        return exc.to_problem(), dict(exc.headers or {})
    if isinstance(exc, ValidationException):
        errors = _field_errors(exc)
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
        problem = Problem(
            type=problem_type("validation"), title="Validation failed", status=400, detail=detail, errors=errors
        )
        return problem, dict(exc.headers or {})
    if isinstance(exc, HTTPException) and exc.status_code == 400:  # e.g. a body that is not JSON at all
        detail = exc.detail or "Malformed request"
        problem = Problem(
            type=problem_type("validation"),
            title="Validation failed",
            status=400,
            detail=detail,
            errors=[FieldError(field="(body)", message=detail)],
        )
        return problem, dict(exc.headers or {})
    if isinstance(exc, HTTPException):
        status = exc.status_code
        detail = exc.detail or TITLES.get(status, "Error")
        if status == 404:
            detail = "No such resource"
        return (
            Problem(
                type=problem_type(SLUGS.get(status, "error")),
                title=TITLES.get(status, "Error"),
                status=status,
                detail=detail,
            ),
            dict(exc.headers or {}),
        )
    if is_unavailable(exc):
        DATABASE_UNAVAILABLE.inc()
        return Problem(
            type=problem_type("unavailable"),
            title=TITLES[503],
            status=503,
            detail="The database is unavailable; retry shortly",
        ), {"Retry-After": "2"}
    return Problem(
        type=problem_type("internal"), title="Internal error", status=500, detail="An internal error occurred"
    ), {}


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        content=msgspec.json.encode(problem),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers or {},
    )


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    problem, headers = _problem_for(exc)
    if problem.status == 503:
        log.warning("database unavailable: %s: %s", type(exc).__name__, exc)
    elif problem.status >= 500:
        log.error("unhandled error", exc_info=exc)
    if problem.status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="gateway"')
    return problem_response(problem, headers)


# -- declaring them in the contract ---------------------------------------------------------

#: what any authenticated operation may answer
COMMON = (400, 401, 403, 429)


def responses(*statuses: int) -> dict[int, ResponseSpec]:
    """The problem responses an operation declares: the common ones plus `statuses`."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            generate_examples=False,
            description=TITLES.get(status, "Error"),
            media_type=PROBLEM_MEDIA_TYPE,
        )
        for status in sorted({*COMMON, *statuses})
    }
