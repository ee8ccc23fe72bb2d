"""`Idempotency-Key` for every POST (DESIGN §4), kept in the database so it holds across
gateway processes and restarts.

A key is scoped to the caller (tenant + principal), so two suppliers may use the same
key. The request is fingerprinted by method, path, query and body:

- first time: the key is claimed (`in_flight`), the request runs, its response is kept;
- same key, same request, completed: the kept response is replayed (`Idempotent-Replayed: true`);
- same key, different request: 422;
- same key while the first is still running: 409 (a claim left by a crashed process is
  taken over once its lock expires).

Responses of 5xx are not kept: the claim is dropped so that a retry runs again. A claim
whose process died (on this host) or whose lock lapsed is taken over by the next retry.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from typing import Annotated, Any

from litestar.params import HeaderParameter
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from piccolo.columns import BigInt, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table

from gateway import background, metrics
from gateway.clock import utcnow
from gateway.http.problems import ProblemError
from gateway.settings import Settings
from gateway.storage import db

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        min_length=1,
        max_length=255,
        description="Makes a retry safe: the same key with the same request replays the first response.",
    ),
]

_KEPT_HEADERS = (b"content-type", b"location")
REPLAYS = metrics.counter("idempotency_replays_total", "Responses replayed for a retried Idempotency-Key")


class IdempotencyRecord(Table, tablename="idempotency_keys"):
    #: sha256 of tenant, principal and the client's key
    id = Varchar(length=64, primary_key=True)
    tenant_id = Varchar(length=40)
    fingerprint = Varchar(length=64)
    status = Varchar(length=16)
    locked_until_ms = BigInt()
    #: host:pid of the process working on it, so that a dead claimant can be recognised
    claimed_by = Varchar(length=200, default="")
    response_status = Integer(null=True, default=None)
    response_headers = Text(default="")
    response_body = Text(default="")
    created_at = Timestamptz(index=True)


_HOST = socket.gethostname()


def _this_process() -> str:
    return f"{_HOST}:{os.getpid()}"


def _claimant_is_dead(claimed_by: str) -> bool:
    """True when the claim was made on this host by a process that no longer exists.

    Claims from other hosts (or from a pid now reused) wait for their lock to lapse instead:
    the safe direction, never two runs of one request at once.
    """
    host, _, pid = claimed_by.rpartition(":")
    if host != _HOST or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    try:  # a killed process nobody has reaped yet still answers signal 0
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] in (b"Z", b"X")
    except OSError:
        return False


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, lock_seconds: int, max_body_bytes: int) -> None:
        self.app = app
        self.lock_ms = lock_seconds * 1000
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope.get("method")
        key = _header(scope, b"idempotency-key") if method == "POST" else None
        user = scope.get("user")
        if key is None or user is None or not 1 <= len(key) <= 255:
            await self.app(scope, receive, send)
            return

        body = await self._read_body(receive)
        fingerprint = hashlib.sha256(
            b"\n".join([b"POST", scope["path"].encode(), scope.get("query_string", b""), body])
        ).hexdigest()
        record_id = hashlib.sha256(f"{user.tenant_id}\n{user.type}\n{user.owner_id}\n{key}".encode()).hexdigest()

        stored = await self._claim(record_id, user.tenant_id, fingerprint)
        if stored is not None:
            await self._replay(stored, send)
            return

        replayed = False

        async def replay_body() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        status = 500
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() in _KEPT_HEADERS]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_body, capture)  # type: ignore[arg-type]
        except BaseException:
            await self._release(record_id)
            raise
        if status >= 500:
            await self._release(record_id)
        else:
            await self._complete(record_id, status, headers, b"".join(chunks))

    async def _read_body(self, receive: Receive) -> bytes:
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise ProblemError(413, f"Request body exceeds {self.max_body_bytes} bytes")
            parts.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(parts)

    async def _claim(self, record_id: str, tenant_id: str, fingerprint: str) -> dict[str, Any] | None:
        """Claim the key, or return the completed record to replay; raise 409/422 otherwise."""
        database = db()
        now_ms = int(time.time() * 1000)
        claimed = await database.fetch(
            "INSERT INTO idempotency_keys (id, tenant_id, fingerprint, status, locked_until_ms, claimed_by, "
            "response_headers, response_body, created_at) "
            "VALUES (?, ?, ?, 'in_flight', ?, ?, '', '', ?) ON CONFLICT (id) DO NOTHING RETURNING id",
            record_id,
            tenant_id,
            fingerprint,
            now_ms + self.lock_ms,
            _this_process(),
            utcnow(),
        )
        if claimed:
            return None
        rows = await database.fetch(
            "SELECT fingerprint, status, locked_until_ms, claimed_by, response_status, response_headers, response_body "
            "FROM idempotency_keys WHERE id = ?",
            record_id,
        )
        if not rows:  # released between our insert and select: try once more
            return await self._claim(record_id, tenant_id, fingerprint)
        row = rows[0]
        if row["fingerprint"] != fingerprint:
            raise ProblemError(
                422,
                "This Idempotency-Key was already used with a different request; use a new key for a new request",
                slug="idempotency-key-reused",
            )
        if row["status"] == "completed":
            return row
        # the claimant's lock lapsed, or it died on this host: take the claim over (one taker wins)
        lapsed = row["locked_until_ms"] < now_ms or _claimant_is_dead(row["claimed_by"])
        taken_over = lapsed and await database.fetch(
            "UPDATE idempotency_keys SET locked_until_ms = ?, claimed_by = ? "
            "WHERE id = ? AND status = 'in_flight' AND claimed_by = ? AND locked_until_ms = ? RETURNING id",
            now_ms + self.lock_ms,
            _this_process(),
            record_id,
            row["claimed_by"],
            row["locked_until_ms"],
        )
        if taken_over:
            return None
        raise ProblemError(
            409, "A request with this Idempotency-Key is still in progress; retry later", slug="idempotency-key-in-use"
        )

    async def _complete(self, record_id: str, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        await db().fetch(
            "UPDATE idempotency_keys SET status = 'completed', response_status = ?, response_headers = ?, response_body = ? WHERE id = ?",
            status,
            json.dumps([[k.decode("latin-1"), v.decode("latin-1")] for k, v in headers]),
            body.decode("utf-8", errors="replace"),
            record_id,
        )

    async def _release(self, record_id: str) -> None:
        await db().fetch("DELETE FROM idempotency_keys WHERE id = ? AND status = 'in_flight'", record_id)

    async def _replay(self, row: dict[str, Any], send: Send) -> None:
        REPLAYS.inc()
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in json.loads(row["response_headers"] or "[]")]
        body = str(row["response_body"]).encode()
        headers += [(b"idempotent-replayed", b"true"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": int(row["response_status"]), "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})


@background.job("idempotency.purge", every=900)
async def purge(settings: Settings) -> int:
    return await purge_expired(settings.idempotency_retention_hours)


async def purge_expired(retention_hours: int) -> int:
    """Forget keys older than the retention period (at least 24 h, DESIGN §4)."""
    from datetime import timedelta

    cutoff = utcnow() - timedelta(hours=max(retention_hours, 24))
    rows = await db().fetch("DELETE FROM idempotency_keys WHERE created_at < ? RETURNING id", cutoff)
    return len(rows)
