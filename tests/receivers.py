"""Real HTTP receivers on 127.0.0.1 for webhook tests: a threaded server that records every
request (headers, body, arrival) and answers as the test says (status, delay, headers)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import msgspec
from standardwebhooks import Webhook


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float
    status: int

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    def json(self) -> Any:
        return msgspec.json.decode(self.body)


#: (request number from 0, headers) → (status, extra headers)
Behaviour = Callable[[int, dict[str, str]], tuple[int, dict[str, str]]]


@dataclass
class Receiver:
    behaviour: Behaviour = field(default=lambda n, h: (200, {}))
    delay: float = 0.0
    requests: list[Received] = field(default_factory=list)
    #: webhook-ids seen arriving while the same id was still being answered
    overlaps: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight: dict[str, int] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: the gateway reuses connections

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:  # the sender died mid-request: nothing was delivered
                    return
                headers = {k.lower(): v for k, v in self.headers.items()}
                ident = headers.get("webhook-id", "")
                with receiver._lock:
                    number = len(receiver.requests)
                    if receiver._in_flight.get(ident):
                        receiver.overlaps.append(ident)
                    receiver._in_flight[ident] = receiver._in_flight.get(ident, 0) + 1
                    status, extra = receiver.behaviour(number, headers)
                    receiver.requests.append(Received(headers, body, time.monotonic(), status))
                try:
                    if receiver.delay:
                        time.sleep(receiver.delay)
                    reply = b'{"ok": true}' if 200 <= status < 300 else b'{"error": "not now"}'
                    self.send_response(status)
                    for name, value in extra.items():
                        self.send_header(name, value)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                finally:
                    with receiver._lock:
                        receiver._in_flight[ident] -= 1

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def accepted(self) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if 200 <= r.status < 300]

    def answering(self, ident: str) -> bool:
        """A request with this webhook-id has arrived and is not answered yet."""
        with self._lock:
            return bool(self._in_flight.get(ident))

    def accepted_ids(self) -> set[str]:
        return {r.id for r in self.accepted()}

    def verified(self, secret: str) -> list[Any]:
        """Every accepted delivery's body, each verified with `standardwebhooks` (not our code)."""
        hook = Webhook(secret)
        return [hook.verify(r.body, r.headers) for r in self.accepted()]


async def eventually(check: Callable[[], Any], timeout: float = 20.0, every: float = 0.05) -> Any:
    """Wait until `check()` (sync or async) returns something truthy; its value."""
    import asyncio
    import inspect

    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {check}")
        await asyncio.sleep(every)
