"""Structured logs: one JSON object per line, with the request id, and never a secret."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

from gateway.http.context import JsonFormatter


async def test_access_log_is_json_with_request_id_and_no_secret(tenant: Any) -> None:
    supplier, key = await tenant.supplier()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("gateway")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        await tenant.call("GET", f"/v1/suppliers/{supplier['id']}", key=key, headers={"X-Request-Id": "log-probe-1"})
        await tenant.call("POST", "/v1/api-keys", json={"owner": {"type": "supplier", "id": supplier["id"]}})
        await tenant.call("GET", "/v1/suppliers", key="sk_" + "z" * 32)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    probe = next(line for line in lines if line.get("request_id") == "log-probe-1")
    assert probe["status"] == 200 and probe["path"] == f"/v1/suppliers/{supplier['id']}"
    assert probe["tenant_id"] == tenant.id and probe["key_id"].startswith("key_")
    text = stream.getvalue()
    assert key not in text and tenant.operator_key not in text and "sk_" + "z" * 32 not in text
    assert '"sk_' not in text and "Bearer" not in text


def test_lines_are_written_off_the_event_loop_with_their_request_id() -> None:
    """The loop only queues a record; a thread formats and writes it. What only the request's
    context knows (its id) and the traceback travel with the record."""
    import queue
    import threading

    from gateway.http.context import _QueueHandler, request_id_var

    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    handler = _QueueHandler(records)
    token = request_id_var.set("req-threaded-1")
    try:
        try:
            raise ValueError("broken")
        except ValueError:
            record = logging.getLogger("gateway.test").makeRecord(
                "gateway.test", logging.ERROR, __file__, 1, "failed %s", ("here",), __import__("sys").exc_info()
            )
        handler.emit(record)
    finally:
        request_id_var.reset(token)
    written: list[str] = []
    thread = threading.Thread(target=lambda: written.append(JsonFormatter().format(records.get())))
    thread.start()
    thread.join()
    line = json.loads(written[0])
    assert line["request_id"] == "req-threaded-1" and line["msg"] == "failed here"
    assert "ValueError: broken" in line["error"]
