"""The response class of every handler (`Litestar(response_class=GatewayResponse)`).

Litestar's `Response`, with a short way for the common answer: a JSON body, no cookies, no
extra headers, no background task. Litestar builds that answer generically on every request
(the Pydantic plugin's 17 type encoders copied into a new dict, a new serializer and encoder
per call, the headers through a mutable mapping, `setdefault` by `setdefault`): a fifth of an
authenticated GET, more than the handler's own SQL. Here the encoder is made once per set of
type encoders and the two headers are written as the bytes Litestar would have written.
Anything else (cookies, headers, other media types, bodies that are already bytes or text,
204/304, HEAD) goes Litestar's own way, so the answer is byte for byte the same either way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import msgspec
from litestar import Response
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import MediaType
from litestar.response.base import ASGIResponse
from litestar.serialization import get_serializer

if TYPE_CHECKING:
    from collections.abc import Iterable

    from litestar.app import Litestar
    from litestar.background_tasks import BackgroundTask, BackgroundTasks
    from litestar.connection import Request
    from litestar.datastructures import Cookie
    from litestar.types import Receive, ResponseCookies, ResponseHeaders, Scope, Send, TypeEncodersMap

T = TypeVar("T")

_JSON = MediaType.JSON.value
_CONTENT_TYPE = (b"content-type", _JSON.encode("latin-1"))
#: one encoder per set of type encoders (a handler's resolved set is one object for its life);
#: the set is kept beside its encoder, so that an id is never matched to another set
_ENCODERS: dict[int, tuple[Any, msgspec.json.Encoder]] = {}


def _encoder(type_encoders: TypeEncodersMap | None) -> msgspec.json.Encoder:
    key = id(type_encoders)
    known = _ENCODERS.get(key)
    if known is None or known[0] is not type_encoders:
        # the hook Litestar's `render` passes to msgspec for these encoders
        known = (type_encoders, msgspec.json.Encoder(enc_hook=get_serializer(type_encoders)))
        if len(_ENCODERS) < 4096:
            _ENCODERS[key] = known
    return known[1]


class JSONAnswer(ASGIResponse):
    """What `ASGIResponse(body=..., status_code=..., media_type="application/json")` holds,
    without building it header by header."""

    __slots__ = ()

    def __init__(self, body: bytes, status_code: int) -> None:
        self.headers = MutableScopeHeaders()
        self.headers.headers = [_CONTENT_TYPE, (b"content-length", str(len(body)).encode("latin-1"))]
        self.background = None
        self.body = body
        self.content_length = len(body)
        self._encoded_cookies = ()
        self.encoding = "utf-8"
        self.is_head_response = False
        self.status_code = status_code

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The two messages `ASGIResponse.__call__` sends for this answer (no HEAD, no
        background task, no cookies), without its three coroutines."""
        await send({"type": "http.response.start", "status": self.status_code, "headers": [*self.headers.headers]})
        await send({"type": "http.response.body", "body": self.body, "more_body": False})


class GatewayResponse(Response[T]):
    __slots__ = ()

    def __init__(
        self,
        content: T,
        *,
        background: BackgroundTask | BackgroundTasks | None = None,
        cookies: ResponseCookies | None = None,
        encoding: str = "utf-8",
        headers: ResponseHeaders | None = None,
        media_type: MediaType | str | None = None,
        status_code: int | None = None,
        type_encoders: TypeEncodersMap | None = None,
    ) -> None:
        if cookies is not None or headers is not None or self.type_encoders:
            super().__init__(
                content,
                background=background,
                cookies=cookies,
                encoding=encoding,
                headers=headers,
                media_type=media_type,
                status_code=status_code,
                type_encoders=type_encoders,
            )
            return
        # what `Response.__init__` sets when there are no cookies and no headers, except that
        # the type encoders are the handler's own set, not a copy: `_encoder` knows it by identity
        self.content = content
        self.background = background
        self.cookies = []
        self.encoding = encoding
        self.headers = {}
        self.media_type = media_type
        self.status_code = status_code
        self.response_type_encoders = type_encoders or {}  # type: ignore[assignment]

    def to_asgi_response(
        self,
        app: Litestar | None,
        request: Request,
        *,
        background: BackgroundTask | BackgroundTasks | None = None,
        cookies: Iterable[Cookie] | None = None,
        encoded_headers: Iterable[tuple[bytes, bytes]] | None = None,
        headers: dict[str, str] | None = None,
        is_head_response: bool = False,
        media_type: MediaType | str | None = None,
        status_code: int | None = None,
        type_encoders: TypeEncodersMap | None = None,
    ) -> ASGIResponse:
        status = self.status_code or status_code or 200
        content = self.content
        if (
            app is None
            and background is None
            and self.background is None
            and not cookies
            and not self.cookies
            and encoded_headers is None
            and not headers
            and not self.headers
            and not is_head_response
            and not type_encoders
            and (self.media_type or media_type or _JSON) == _JSON
            and status >= 200
            and status not in (204, 304)
            and not isinstance(content, bytes | str)
        ):
            try:
                body = _encoder(self.response_type_encoders or None).encode(content)
            except Exception:  # noqa: S110 - Litestar's own way below raises its own error for it
                pass
            else:
                return JSONAnswer(body, status)
        return super().to_asgi_response(
            app,
            request,
            background=background,
            cookies=cookies,
            encoded_headers=encoded_headers,
            headers=headers,
            is_head_response=is_head_response,
            media_type=media_type,
            status_code=status_code,
            type_encoders=type_encoders,
        )
