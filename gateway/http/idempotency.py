"""`Idempotency-Key` for every POST (DESIGN §4), kept in the database so it holds across
gateway processes, restarts and crashes.

A key is scoped to the caller (tenant + principal), so two suppliers may use the same key. The
request is fingerprinted by method, path, query and body:

- first time: the request runs **in one database transaction with its record**: the handler's
  writes (whose own transactions nest inside as savepoints) and the kept response commit
  together, and only then does the response leave. A retry that arrives the moment the client
  has the answer, at any process, finds the record and replays it; a process killed before the
  commit leaves neither writes nor record, so the retry runs the request once, from scratch;
- same key, same request, answered: the kept response is replayed (`Idempotent-Replayed: true`);
- same key, different request: 422;
- same key while the first is still running: 409. "Running" is a lock held by a live
  transaction (a PostgreSQL advisory transaction lock, which dies with its connection), so a
  crashed process never blocks a key. On SQLite the first holds the database's write lock; the
  retry waits for it and then replays.

Answers of 5xx are not kept (the transaction rolls back, so a retry runs again). Records are
kept `GATEWAY_IDEMPOTENCY_RETENTION_HOURS` (at least 24 h) and purged by a background job.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from litestar.params import HeaderParameter
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from piccolo.columns import BigInt, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table

from gateway import background, metrics
from gateway.clock import utcnow
from gateway.http.problems import ProblemError
from gateway.settings import Settings
from gateway.storage import db, process_id

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
    #: `completed` once committed: a record commits only with its answer (`claimed` is how the
    #: answering transaction holds it meanwhile; `locked_until_ms` remains from in-flight claims
    #: that advisory locks replaced)
    status = Varchar(length=16)
    locked_until_ms = BigInt()
    #: host:pid of the process that answered
    claimed_by = Varchar(length=200, default="")
    response_status = Integer(null=True, default=None)
    response_headers = Text(default="")
    response_body = Text(default="")
    created_at = Timestamptz(index=True)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _in_use() -> ProblemError:
    return ProblemError(
        409, "A request with this Idempotency-Key is still in progress; retry later", slug="idempotency-key-in-use"
    )


class _Discard(Exception):
    """Roll the request's transaction back (a 5xx answer keeps nothing)."""


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
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

        replayed = False

        async def replay_body() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        status = 500
        messages: list[Message] = []

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            messages.append(message)  # held until the transaction has committed

        database = db()
        stored = None
        try:
            async with database.transaction():
                # the key's record is claimed first, under the key's lock: in flight elsewhere
                # when a live transaction holds the lock (PostgreSQL; on SQLite this transaction
                # holds the only write lock, so the other one has finished); answered before
                # when the record is there. One statement on PostgreSQL, none of them a lookup
                # whose cached plan could go stale as the table grows (Database.claim).
                claimed = await database.claim(
                    f"idempotency:{record_id}",
                    "idempotency_keys",
                    {
                        "id": record_id,
                        "tenant_id": user.tenant_id,
                        "fingerprint": fingerprint,
                        "status": "claimed",
                        "locked_until_ms": 0,
                        "claimed_by": process_id(),
                        "created_at": utcnow(),
                    },
                    "id",
                )
                if claimed is None:
                    raise _in_use()
                if claimed:
                    await self.app(scope, replay_body, capture)  # type: ignore[arg-type]
                    if status >= 500:
                        raise _Discard
                    await self._complete(record_id, user.tenant_id, fingerprint, messages)
                else:
                    stored = await self._stored(record_id, fingerprint)
        except _Discard:
            pass
        if stored is not None:
            await self._replay(stored, send)
            return
        for message in messages:
            await send(message)

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

    async def _stored(self, record_id: str, fingerprint: str) -> dict[str, Any]:
        """The kept answer to this key; 422 when the key came with another request."""
        rows = await db().fetch(
            "SELECT fingerprint, status, response_status, response_headers, response_body FROM idempotency_keys "
            "WHERE id = ?",
            record_id,
        )
        if rows[0]["fingerprint"] != fingerprint:
            raise ProblemError(
                422,
                "This Idempotency-Key was already used with a different request; use a new key for a new request",
                slug="idempotency-key-reused",
            )
        if rows[0]["status"] != "completed":  # a claim is never committed without its answer
            raise _in_use()
        return rows[0]

    async def _complete(self, record_id: str, tenant_id: str, fingerprint: str, messages: list[Message]) -> None:
        """Keep the answer on the claimed record, in the transaction of the handler's writes
        (an upsert: the unique index finds the record, no plan does)."""
        start = next(m for m in messages if m["type"] == "http.response.start")
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() in _KEPT_HEADERS]
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        await db().write(  # sent with the COMMIT's flush, with the handler's last writes
            "INSERT INTO idempotency_keys (id, tenant_id, fingerprint, status, locked_until_ms, claimed_by, "
            "response_status, response_headers, response_body, created_at) "
            "VALUES (?, ?, ?, 'completed', 0, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET status = excluded.status, response_status = excluded.response_status, "
            "response_headers = excluded.response_headers, response_body = excluded.response_body",
            record_id,
            tenant_id,
            fingerprint,
            process_id(),
            start["status"],
            json.dumps([[k.decode("latin-1"), v.decode("latin-1")] for k, v in headers]),
            body.decode("utf-8", errors="replace"),
            utcnow(),
        )

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
