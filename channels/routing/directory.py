"""Each gateway process's copy of every tenant's location index, kept current from the
database (the I/O edge of `channels.routing.index`).

Several gateway processes serve one database, and any of them may change a location, so a
process cannot learn of changes from itself. The database carries a per-tenant **revision**:

- every location write (create, update, status change) calls `bump_revision` in its own
  transaction, which increments `routing_revisions.revision` for the tenant (one upsert,
  `RETURNING` the new value) and stamps the location row's `revision` with it. The upsert
  locks the tenant's row until commit, so revisions commit in increasing order: once a
  revision is visible, every smaller one is too;
- `index_for` reads the tenant's revision (one primary-key read per call). When it is newer
  than the cached index's, it loads only the locations stamped after the cached revision
  (index `locations (tenant_id, revision)`) and applies them: an active location is upserted,
  any other removed. The first call for a tenant loads all its active locations, in pages
  by id.

A row written without a bump (a raw INSERT leaving `revision` at 0) reaches only first loads:
every writer of `locations` must follow the protocol (`suppliers.locations.services` does).

The cache records the revision read *before* loading, never a later one: a change that
commits while we load has a higher revision and is loaded again next time, so nothing is
missed and re-applying a row is harmless.

Refreshes of one tenant are serialised per event loop (concurrent callers wait for the one
load and share it). The cache itself may be shared by several loops of one process (the
test client runs the app on its own thread): an index is replaced or changed only under a
thread lock and only if the entry is still the one the refresh started from, otherwise the
refresh starts over from the newer entry.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from typing import Any

import msgspec

from channels.routing.index import LocationIndex
from channels.routing.sites import Site
from gateway import startup
from gateway.records import json_value as _decoded
from gateway.storage import db

#: rows per statement of a first load: bounded memory, and the event loop gets a turn between
#: pages (SQLite runs statements inline on the loop: one page is ~20-40 ms of work)
PAGE = 2_000
_COLUMNS = (
    "id, supplier_id, kind, lat, lng, service_radius_km, modes, prep_minutes, opening_hours, "
    "timezone, daily_capacity, status"
)
_BUMP = (
    "INSERT INTO routing_revisions (tenant_id, revision) VALUES (?, 1) "
    "ON CONFLICT (tenant_id) DO UPDATE SET revision = routing_revisions.revision + 1 RETURNING revision"
)

Entry = tuple[LocationIndex, int]

_cache: dict[str, Entry] = {}
_swap = threading.Lock()
_refreshing: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = weakref.WeakKeyDictionary()


async def bump_revision(tenant_id: str) -> int:
    """The tenant's next routing revision. Call it inside the transaction that writes a
    location and stamp the row's `revision` with the result; it holds the tenant's row lock
    until that transaction ends."""
    rows = await db().fetch(_BUMP, tenant_id)
    return int(rows[0]["revision"])


async def current_revision(tenant_id: str) -> int:
    rows = await db().fetch("SELECT revision FROM routing_revisions WHERE tenant_id = ?", tenant_id)
    return int(rows[0]["revision"]) if rows else 0


async def index_for(tenant_id: str, revision: int | None = None) -> LocationIndex:
    """The tenant's index of active locations, as of at least the revision committed when
    the call began, or as of at least `revision` when the caller read it moments before (with
    the routing policy, `services.policy_of`: one round trip for both)."""
    if revision is None:
        revision = await current_revision(tenant_id)
    entry = _cache.get(tenant_id)
    if entry is not None and entry[1] >= revision:
        return entry[0]
    async with _lock(tenant_id):
        while True:  # twice at most unless another loop keeps winning the swap
            entry = _cache.get(tenant_id)
            if entry is not None and entry[1] >= revision:
                return entry[0]
            await _refresh(tenant_id, entry, revision)


async def warm() -> None:
    """Load every tenant's index that has locations, the most written first, so a worker's first
    order does not wait for the load (seconds at a few hundred thousand locations). Runs beside
    the first requests (`gateway.startup`): one that needs a tenant meanwhile waits for, and
    shares, the same load."""
    rows = await db().fetch("SELECT tenant_id FROM routing_revisions ORDER BY revision DESC, tenant_id")
    for row in rows:
        await index_for(row["tenant_id"])
        await asyncio.sleep(0)


startup.on_startup(warm)


def cached(tenant_id: str) -> Entry | None:
    """The cached (index, revision) of a tenant, if any, without touching the database."""
    return _cache.get(tenant_id)


def forget(tenant_id: str | None = None) -> None:
    """Drop a tenant's cached index (all tenants' without one): the next call loads anew."""
    with _swap:
        if tenant_id is None:
            _cache.clear()
        else:
            _cache.pop(tenant_id, None)


def _lock(tenant_id: str) -> asyncio.Lock:
    locks = _refreshing.setdefault(asyncio.get_running_loop(), {})
    lock = locks.get(tenant_id)
    if lock is None:
        lock = locks[tenant_id] = asyncio.Lock()
    return lock


async def _refresh(tenant_id: str, entry: Entry | None, revision: int) -> bool:
    """Bring `entry` up to `revision`; False when another loop changed the entry meanwhile."""
    decode = _Decoder()
    if entry is None:
        index = LocationIndex()
        after = ""
        while True:
            rows = await db().fetch(
                f"SELECT {_COLUMNS} FROM locations WHERE tenant_id = ? AND id > ? AND status = 'active' "
                "ORDER BY id LIMIT ?",
                tenant_id,
                after,
                PAGE,
            )
            for row in rows:
                index.upsert(decode.site(row))
            if len(rows) < PAGE:
                break
            after = rows[-1]["id"]
            await asyncio.sleep(0)  # let requests in between pages
        with _swap:
            if tenant_id in _cache:
                return False
            _cache[tenant_id] = (index, revision)
        return True
    rows = await db().fetch(
        f"SELECT {_COLUMNS} FROM locations WHERE tenant_id = ? AND revision > ?", tenant_id, entry[1]
    )
    changes = [decode.site(row) if row["status"] == "active" else row["id"] for row in rows]
    with _swap:
        if _cache.get(tenant_id) is not entry:
            return False
        index = entry[0]
        for change in changes:
            if isinstance(change, Site):
                index.upsert(change)
            else:
                index.remove(change)
        _cache[tenant_id] = (index, revision)
    return True


class _Decoder:
    """Rows to sites, sharing equal strings, modes and timetables between the sites of one
    load (most of a tenant's sites repeat a handful of them: memory, and no decode each).
    Shared means read-only: nobody may mutate a site's `opening_hours`."""

    __slots__ = ("_hours", "_modes", "_text")

    _EMPTY: dict[str, list[list[str]]] = {}

    def __init__(self) -> None:
        self._text: dict[str, str] = {}
        self._modes: dict[Any, tuple[str, ...]] = {}
        self._hours: dict[Any, dict[str, list[list[str]]]] = {}

    def _shared(self, text: str) -> str:
        return self._text.setdefault(text, text)

    def site(self, row: dict[str, Any]) -> Site:
        raw = row["modes"]
        key = raw if isinstance(raw, str) else _key(raw)
        modes = self._modes.get(key)
        if modes is None:
            modes = self._modes[key] = tuple(_decoded(raw))
        raw = row["opening_hours"]
        key = raw if isinstance(raw, str) else _key(raw)
        hours = self._hours.get(key)
        if hours is None:
            # only the days with hours: an all-empty week is "always open", as `{}` says
            week = {day: spans for day, spans in (_decoded(raw) or {}).items() if spans}
            hours = self._hours[key] = week or self._EMPTY
        return Site(
            id=row["id"],
            supplier_id=self._shared(row["supplier_id"]),
            kind=self._shared(row["kind"]),
            lat=float(row["lat"]),
            lng=float(row["lng"]),
            service_radius_km=float(row["service_radius_km"]),
            modes=modes,
            prep_minutes=int(row["prep_minutes"]),
            opening_hours=hours,
            timezone=self._shared(row["timezone"]),
            daily_capacity=row["daily_capacity"],
        )


def _key(value: Any) -> str | bytes:
    """A hashable key for a JSON column's value, whether the driver decoded it or not."""
    return value if isinstance(value, str | bytes) else msgspec.json.encode(value)
