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
