"""Which browser origins some publishable key allows: what a CORS preflight is judged by.

A preflight carries no credential (`gateway.http.cors`), so it can only ask "does any active
publishable key allow this origin?". That is a question across tenants, asked rarely
(browsers keep a preflight's answer for `MAX_AGE_SECONDS`), so it is one query over the
publishable keys (their origins are JSON text, matched with LIKE; origins are validated, so
they hold no LIKE wildcards), with each answer kept a few seconds per process. Keys created
or changed in this process clear the memo at once; other processes see them within
`TTL_SECONDS`.
"""

from __future__ import annotations

import time

from gateway.http.cors import LOCALHOST_WILDCARDS, is_origin
from gateway.storage import db

TTL_SECONDS = 5.0
_MAX_ENTRIES = 10_000
_memo: dict[tuple[str, bool], tuple[bool, float]] = {}

_QUERY = (
    "SELECT 1 AS found FROM api_keys WHERE kind = 'publishable' AND status = 'active' "
    "AND CAST(allowed_origins AS TEXT) LIKE ? LIMIT 1"
)


async def origin_in_use(origin: str, allow_localhost: bool) -> bool:
    """Whether some active publishable key allows pages at `origin`."""
    if not is_origin(origin) or origin in LOCALHOST_WILDCARDS:
        return False  # not an origin a key can name (and no LIKE wildcards reach the query)
    now = time.monotonic()
    cached = _memo.get((origin, allow_localhost))
    if cached is not None and cached[1] > now:
        return cached[0]
    patterns = [origin]
    if allow_localhost:
        host = origin.split("://", 1)[-1].split(":", 1)[0]
        patterns += [w for w in LOCALHOST_WILDCARDS if origin.startswith("http://") and w == f"http://{host}:*"]
    found = False
    for pattern in patterns:
        if await db().fetch(_QUERY, f'%"{pattern}"%'):
            found = True
            break
    if len(_memo) >= _MAX_ENTRIES:
        _memo.clear()
    _memo[(origin, allow_localhost)] = (found, now + TTL_SECONDS)
    return found


def forget() -> None:
    """Drop every memoised answer (a key's origins changed in this process)."""
    _memo.clear()
