"""A flaky HTTP/1.1 proxy on 127.0.0.1 in front of a live gateway, for the SDK's retry tests.

Each request whose path matches is handled by the next action of the script:
- "pass": forwarded, the answer relayed;
- "drop": the connection closed before forwarding (the gateway never sees it);
- "lost": forwarded and answered by the gateway, then the connection closed without the answer
  (the dangerous case: the work is done but the client cannot know);
- ("429", retry_after): answered 429 with that `Retry-After`, not forwarded.
Every request is recorded (method, path, Idempotency-Key, action), so a test can assert
that the retries of one call carried one key.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import httpx

Action = Any  # "pass" | "drop" | "lost" | ("429", str)


@dataclass
class Seen:
    method: str
    path: str
    idempotency_key: str | None
    action: str


@dataclass
class FlakyProxy:
    upstream: str
    path_prefix: str = "/v1/"
    script: deque[Action] = field(default_factory=deque)
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(10)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def plan(self, *actions: Action) -> None:
        self.script.clear()
        self.script.extend(actions)
        self.seen.clear()

    def close(self) -> None:
        async def stop() -> None:
            self._server.close()
            await self._server.wait_closed()
            await self._http.aclose()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            self._http = httpx.AsyncClient(base_url=self.upstream, timeout=120, trust_env=False)
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
            self.port = self._server.sockets[0].getsockname()[1]
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers: list[tuple[str, str]] = []
                for line in lines[1:]:
                    if line:
                        name, _, value = line.partition(":")
                        headers.append((name.strip(), value.strip()))
                lowered = {k.lower(): v for k, v in headers}
                body = await reader.readexactly(int(lowered.get("content-length") or 0))
                path = target.split("?", 1)[0]
                action: Action = "pass"
                if path.startswith(self.path_prefix) and self.script:
                    action = self.script.popleft()
                name = action if isinstance(action, str) else action[0]
                self.seen.append(Seen(method, path, lowered.get("idempotency-key"), name))
                if action == "drop":
                    return
                if isinstance(action, tuple):
                    reply = b'{"type":"about:blank","title":"Too many requests","status":429}'
                    writer.write(
                        f"HTTP/1.1 429 Too Many Requests\r\nretry-after: {action[1]}\r\n"
                        f"content-type: application/problem+json\r\ncontent-length: {len(reply)}\r\n\r\n".encode()
                        + reply
                    )
                    await writer.drain()
                    continue
                forwarded = {k: v for k, v in headers if k.lower() not in ("host", "connection", "content-length")}
                response = await self._http.request(method, target, content=body, headers=forwarded)
                if action == "lost":
                    return
                out = [f"HTTP/1.1 {response.status_code} {response.reason_phrase}"]
                for name_, value in response.headers.items():
                    if name_.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                        out.append(f"{name_}: {value}")
                out.append(f"content-length: {len(response.content)}")
                writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + response.content)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
