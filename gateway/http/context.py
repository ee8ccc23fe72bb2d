"""Request ids and structured logs.

`X-Request-Id` is accepted when it looks sane, generated otherwise, echoed on every
response and put on every log line written while the request is served. Log lines are
JSON; no header, body or credential is ever logged, only the key's id.
"""

from __future__ import annotations

import atexit
import contextvars
import copy
import itertools
import json
import logging
import logging.handlers
import queue
import re
import secrets
import sys
import time
from typing import Any

from litestar.types import HTTPResponseStartEvent, Scope

from gateway import metrics

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
access_log = logging.getLogger("gateway.access")


def request_id_of(scope: Scope) -> str:
    state = scope.setdefault("state", {})  # type: ignore[typeddict-item]
    rid = state.get("request_id")
    if rid is None:
        presented = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                presented = value
                break
        rid = bind_request_id(scope, presented)
    return str(rid)


def bind_request_id(scope: Scope, presented: bytes | None) -> str:
    """Give the request its id (the `X-Request-Id` it presented, when sane) and its start time,
    for a caller that has already found the header (`gateway.http.pipeline` scans them once)."""
    rid = None
    if presented is not None:
        candidate = presented.decode("latin-1")
        rid = candidate if _VALID_ID.match(candidate) else None
    rid = rid or _next_request_id()
    state = scope.setdefault("state", {})  # type: ignore[typeddict-item]
    state["request_id"] = rid
    state["started"] = time.perf_counter()
    return rid


_ID_PREFIX = f"req_{secrets.token_hex(6)}"
_counter = itertools.count(1)


def _next_request_id() -> str:
    """Unique without asking the OS for randomness on every request: a random per-process
    prefix and a counter (a request id needs to be unique, not secret)."""
    return f"{_ID_PREFIX}{next(_counter):012x}"


#: the scope-state key of raw headers every answer to the request carries (the rate limit's),
#: errors included: `stamp_response` appends them with the request id
ANSWER_HEADERS = "answer_headers"


def stamp_response(message: HTTPResponseStartEvent, scope: Scope) -> None:
    """Stamp a response's start message (`gateway.http.pipeline.stamp_answer`, a `before_send`
    hook: every response, errors raised by middleware included): request id, the answer headers
    the pipeline left in the scope state, metrics, access log."""
    state = scope["state"]  # type: ignore[typeddict-item]
    rid = state.get("request_id") or request_id_of(scope)  # none yet when routing failed
    # appended raw: no handler sets them, so there is nothing to replace (and no header scan)
    message["headers"] = [*message.get("headers", ()), *state.get(ANSWER_HEADERS, ()), (b"x-request-id", rid.encode())]
    started = state.get("started")
    elapsed = time.perf_counter() - started if started else 0.0
    # by route template (never the raw path: ids would make a series per object)
    metrics.observe_request(
        str(scope.get("method") or "GET"), scope.get("path_template") or "unmatched", message["status"], elapsed
    )
    if not access_log.isEnabledFor(logging.INFO):
        return
    user = scope.get("user")
    access_log.info(
        "request",
        extra={
            "request_id": rid,
            "method": scope.get("method"),
            "path": scope.get("path"),
            "status": message["status"],
            "ms": round(elapsed * 1000, 2) if started else None,
            "tenant_id": getattr(user, "tenant_id", None),
            "key_id": getattr(user, "key_id", None),
        },
    )


_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = request_id_var.get()
        if rid is not None:
            entry["request_id"] = rid
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        elif record.exc_text:  # formatted already, off the writer thread (`_QueueHandler`)
            entry["error"] = record.exc_text
        return json.dumps(entry, default=str)


class _QueueHandler(logging.handlers.QueueHandler):
    """Hands records to the writer thread, stamped with what only this thread knows (the request
    id in the context) and with nothing that keeps frames alive (the traceback becomes text)."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        record = copy.copy(record)
        record.message = record.getMessage()
        record.msg, record.args = record.message, None
        if record.exc_info:
            record.exc_text = _TRACEBACKS.formatException(record.exc_info)
            record.exc_info = None
        if not hasattr(record, "request_id"):
            rid = request_id_var.get()
            if rid is not None:
                record.request_id = rid
        return record


_TRACEBACKS = logging.Formatter()
_listener: logging.handlers.QueueListener | None = None


def configure_logging(level: str) -> None:
    """JSON lines on stderr, written by a thread of their own: a slow or blocked stderr (a full
    pipe, a busy log collector) never stalls the event loop. Once per process; later calls only
    change the level."""
    global _listener
    root = logging.getLogger("gateway")
    root.setLevel(level.upper())
    root.propagate = False
    if _listener is None:
        writer = logging.StreamHandler(sys.stderr)
        writer.setFormatter(JsonFormatter())
        records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        _listener = logging.handlers.QueueListener(records, writer, respect_handler_level=False)
        _listener.start()
        atexit.register(_listener.stop)  # what is queued is written before the process ends
        root.handlers[:] = [_QueueHandler(records)]
