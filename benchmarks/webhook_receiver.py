"""A minimal, fast webhook receiver for `benchmarks/webhooks.py`: HTTP/1.1 keep-alive on raw
asyncio, answers every POST with 200 at once and notes (webhook-id, arrival unix time).

    python benchmarks/webhook_receiver.py PORT

`GET /stats` → {"count", "unique"}; `GET /dump` → {"<webhook-id>": first arrival, ...}.
It does not verify signatures (the tests do that with `standardwebhooks`): it measures the sender.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

arrivals: dict[str, float] = {}
count = 0
OK = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"


class Receiver(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        global count
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].decode("latin-1")
            lines = head.split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
            length = int(headers.get("content-length", "0"))
            if len(self.buffer) < head_end + 4 + length:
                return
            self.buffer = self.buffer[head_end + 4 + length :]
            method, path = lines[0].split(" ")[:2]
            if method == "GET":
                body = json.dumps({"count": count, "unique": len(arrivals)} if path == "/stats" else arrivals).encode()
                self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
                continue
            count += 1
            arrivals.setdefault(headers.get("webhook-id", ""), time.time())
            self.transport.write(OK)


async def main(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(Receiver, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
