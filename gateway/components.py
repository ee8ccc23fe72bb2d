"""The domains the gateway serves, found without the gateway importing any of them.

`gateway/` is a kernel: HTTP, tenancy, credentials, OAuth, events, webhooks, storage, background
work. The commerce domains (`suppliers`, `channels`) plug into it through registries they fill
in when their component module is imported:

- here: their route handlers (`routes`) and their Piccolo apps (`piccolo_apps`);
- `gateway.parties` / `gateway.tenancy.owners`: the party kinds keys and users belong to;
- `gateway.crypto.encrypted_column`: columns `gateway keys rotate` re-encrypts;
- `gateway.demo.step`: steps of `gateway demo`; `gateway.cli.command`: extra CLI commands;
- `gateway.background.job`: periodic jobs.

Which components make up the product is said once, outside `gateway/`: the entry points of
the group `gateway.components` in pyproject.toml (`suppliers = "suppliers.component"`). Every
entry module (the ASGI app, the CLI, Piccolo's configuration) calls `load()` first.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from importlib.metadata import entry_points
from typing import Any

GROUP = "gateway.components"

_routes: list[Any] = []
#: the kernel's own Piccolo apps first: the domains' tables reference tenants
_piccolo_apps: list[str] = [
    "gateway.piccolo_app",
    "gateway.background.piccolo_app",
    "gateway.users.piccolo_app",
    "gateway.oauth.piccolo_app",
    "gateway.webhooks.piccolo_app",
]
_loaded: list[str] | None = None


def load() -> list[str]:
    """Import every installed component once (in name order, so the result is the same in
    every process); returns their module names."""
    global _loaded
    if _loaded is None:
        found = sorted(entry_points(group=GROUP), key=lambda point: point.name)
        _loaded = []
        for point in found:
            importlib.import_module(point.value)
            _loaded.append(point.value)
    return list(_loaded)


def routes(handlers: Iterable[Any]) -> None:
    """Mount these controllers / route handlers in the app `gateway.app.create_app` builds."""
    for handler in handlers:
        if handler not in _routes:
            _routes.append(handler)


def route_handlers() -> list[Any]:
    load()
    return list(_routes)


def piccolo_apps(names: Iterable[str]) -> None:
    """Piccolo apps (`pkg.piccolo_app` module names) whose tables and migrations join the schema."""
    for name in names:
        if name not in _piccolo_apps:
            _piccolo_apps.append(name)


def piccolo_app_names() -> list[str]:
    load()
    return list(_piccolo_apps)
