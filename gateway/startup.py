"""Work the components start beside the app (warming their caches), registered by them so the
kernel imports no domain: `on_startup(hook)` at import, and the app runs every hook as a task
when it starts, without waiting for it (the first requests are served meanwhile and share what
the hook loads), and cancels what is left when it stops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

log = logging.getLogger("gateway.startup")

Hook = Callable[[], Awaitable[None]]
_hooks: list[Hook] = []


def on_startup(hook: Hook) -> Hook:
    """Run `hook()` as a task whenever an app starts (once per registration)."""
    if hook not in _hooks:
        _hooks.append(hook)
    return hook


async def _guarded(hook: Hook) -> None:
    try:
        await hook()
    except asyncio.CancelledError:
        raise
    except Exception:  # a cache left cold is loaded on demand: never a reason to fail the app
        log.exception("startup hook %s failed", getattr(hook, "__qualname__", hook))


@contextlib.asynccontextmanager
async def running() -> AsyncIterator[None]:
    """The hooks' tasks for the app's lifetime (enter after the database is bound)."""
    tasks = [asyncio.create_task(_guarded(hook)) for hook in _hooks]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
