"""One signed POST to a receiver, through the SSRF guard, and what it answered."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from gateway import crypto
from gateway.webhooks import signing
from gateway.webhooks.fanout import as_utc
from gateway.webhooks.ssrf import ForbiddenAddress

EXCERPT_BYTES = 1024
USER_AGENT = "commerce-gateway-webhooks/1 (Standard Webhooks)"


@dataclass
class Answer:
    """What one attempt got back."""

    status_code: int | None = None
    excerpt: str = ""
    error: str | None = None
    retry_after: str | None = None
    refused: bool = False
    latency_ms: int = 0


_keys_cache: dict[tuple[str, str], bytes] = {}


def _key(token: str, tenant_id: str, endpoint_id: str, field_name: str) -> bytes:
    """The HMAC key sealed in `token` (decrypted once per process and token)."""
    cached = _keys_cache.get((token, field_name))
    if cached is None:
        secret = crypto.decrypt(token, crypto.row_context(tenant_id, endpoint_id, field_name)).decode()
        cached = signing.secret_key(secret)
        if len(_keys_cache) > 10_000:
            _keys_cache.clear()
        _keys_cache[(token, field_name)] = cached
    return cached


def signing_keys(row: dict[str, Any], now: datetime) -> tuple[bytes, ...]:
    """The current secret, and the previous one while its overlap lasts."""
    keys = [_key(row["secret"], row["tenant_id"], row["endpoint_id"], "secret")]
    expires = row.get("previous_secret_expires_at")
    if row.get("previous_secret") and expires is not None and as_utc(expires) > now:
        keys.append(_key(row["previous_secret"], row["tenant_id"], row["endpoint_id"], "previous_secret"))
    return tuple(keys)


async def post(
    client: httpx.AsyncClient, url: str, message_id: str, body: bytes, keys: Sequence[bytes], seconds: float
) -> Answer:
    """One signed POST; never raises for what the receiver or the network did."""
    headers = {
        **signing.headers(keys, message_id, int(time.time()), body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
    answer = Answer()
    started = time.perf_counter()
    try:
        async with asyncio.timeout(seconds):
            async with client.stream("POST", url, content=body, headers=headers) as response:
                answer.status_code = response.status_code
                answer.retry_after = response.headers.get("retry-after")
                answer.excerpt = await _excerpt(response)
    except ForbiddenAddress as error:
        answer.refused, answer.error = True, f"refused by the SSRF guard: {error}"
    except (TimeoutError, httpx.TimeoutException):
        answer.status_code, answer.error = None, f"no answer within {seconds:g} s"
    except httpx.HTTPError as error:
        answer.status_code, answer.error = None, f"{type(error).__name__}: {error}"[:500]
    except (OSError, httpx.InvalidURL, ValueError) as error:
        answer.status_code, answer.error = None, f"{type(error).__name__}: {error}"[:500]
    answer.latency_ms = int((time.perf_counter() - started) * 1000)
    if answer.error is None and answer.status_code is not None and not 200 <= answer.status_code < 300:
        answer.error = f"HTTP {answer.status_code}"
    return answer


async def _excerpt(response: httpx.Response) -> str:
    """The first bytes of the answer as text; the rest is not read."""
    data = b""
    async for chunk in response.aiter_raw():
        data += chunk
        if len(data) >= EXCERPT_BYTES:
            break
    # PostgreSQL text cannot hold NUL
    return data[:EXCERPT_BYTES].decode("utf-8", errors="replace").replace("\x00", "")
