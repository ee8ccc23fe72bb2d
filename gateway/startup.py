"""Work the components start beside the app (warming their caches), registered by them so the
kernel imports no domain: `on_startup(hook)` at import, and the app runs every hook as a task
when it starts, without waiting for it (the first requests are served meanwhile and share what
the hook loads), and cancels what is left when it stops.

Once the hooks are done, what the process holds then (modules, warmed caches, the routing
index) is moved out of the garbage collector's sight with `gc.freeze()`, once per process:
otherwise every full collection walks it again, and one such walk (60-140 ms measured in a
serving worker) stalls every request in flight. Frozen objects are still freed by reference
counting; only cycles among them would stay."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

log = logging.getLogger("gateway.startup")

Hook = Callable[[], Awaitable[None]]
_hooks: list[Hook] = []
_frozen = False


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


async def _freeze_when_warm(tasks: list[asyncio.Task[None]]) -> None:
    global _frozen
    await asyncio.gather(*tasks, return_exceptions=True)
    if not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()


@contextlib.asynccontextmanager
async def running() -> AsyncIterator[None]:
    """The hooks' tasks for the app's lifetime (enter after the database is bound)."""
    tasks = [asyncio.create_task(_guarded(hook)) for hook in _hooks]
    tasks.append(asyncio.create_task(_freeze_when_warm(list(tasks))))
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
