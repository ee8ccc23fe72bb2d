"""Locations: where a supplier keeps stock and serves from.

A supplier reads and writes only its own locations; the operator every location of the
tenant (and names the supplier when it creates one); channels none (they will see
availability through the storefront). A location another supplier owns is "not found",
exactly like one that does not exist (DESIGN §3).

Coordinates stay plain WGS84 doubles: the routing area builds its spatial index (H3 cells or
the like) from them, and `locations_of` gives it what it needs about many locations at once.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from gateway.clock import utcnow
from gateway.events.services import emit
from gateway.http.fields import changes
from gateway.http.problems import FieldError, ProblemError, invalid, not_found
from gateway.ids import new_id
from gateway.records import get_one, insert_row, list_page, narrowed, update_versioned
from gateway.records import json_value as _decoded
from gateway.storage import db
from gateway.tenancy.principal import Principal
from suppliers.locations import revisions
from suppliers.locations.models import Location
from suppliers.locations.schemas import (
    LocationCreate,
    LocationOut,
    LocationUpdate,
    OpeningHours,
)

KIND = "location"
#: ids per `IN (...)` list: well inside both engines' parameter limits
CHUNK = 1000
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_JSON_COLUMNS = ("address", "modes", "opening_hours")


# -- who owns what ---------------------------------------------------------------------------


async def acting_supplier(principal: Principal, supplier_id: str | None, kind: str) -> str:
    """The supplier a new `kind` (location, offer) belongs to.

    A supplier creates its own: it may leave `supplier_id` out or name itself; naming another
    is a 403 whether or not that supplier exists. The operator must name an existing supplier
    of its tenant: leaving it out is a 403 that names the field (a request valid for a
    supplier, so the schema cannot refuse it), an unknown or foreign one a 404.
    """
    if principal.type == "supplier":
        assert principal.owner_id is not None
        if supplier_id is not None and supplier_id != principal.owner_id:
            raise ProblemError(
                403,
                f"A supplier may create {kind}s only for itself",
                errors=[FieldError(field="supplier_id", message="must be your own supplier id, or left out")],
            )
        return principal.owner_id
    if not principal.is_operator:
        raise ProblemError(403, "Only the operator or a supplier may call this operation")
    if supplier_id is None:
        raise ProblemError(
            403,
            f"The operator creates a {kind} on behalf of a supplier: name it in supplier_id",
            slug="supplier-required",
            errors=[FieldError(field="supplier_id", message=f"required when the operator creates a {kind}")],
        )
    rows = await db().fetch(
        "SELECT 1 AS found FROM suppliers WHERE tenant_id = ? AND id = ?", principal.tenant_id, supplier_id
    )
    if not rows:
        raise not_found("supplier", supplier_id)
    return supplier_id


def visible(principal: Principal) -> dict[str, Any]:
    """Row filters: the operator sees every location, a supplier its own, anyone else none."""
    scope = principal.scope("supplier")
    return {} if scope is None else {"supplier_id": scope}


# -- validation beyond the schema --------------------------------------------------------------


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones() | {"UTC"})


def known_timezone(name: str) -> bool:
    """Whether `name` is an IANA time zone this host's tz database knows (zoneinfo)."""
    return name in _zones()


def _check_timezone(name: str) -> None:
    if not known_timezone(name):
        raise ProblemError(
            404,
            f"No such time zone: {name}",
            slug="unknown-timezone",
            errors=[FieldError(field="timezone", message="not an IANA time zone name, e.g. Asia/Shanghai")],
        )


def _check_modes(modes: Sequence[str]) -> None:
    if len(set(modes)) != len(modes):
        raise invalid("modes", "each mode may appear once")


# -- opening hours ---------------------------------------------------------------------------


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def always_open(hours: OpeningHours) -> bool:
    return not any(getattr(hours, day) for day in DAYS)


def is_open(hours: OpeningHours, timezone: str, at: datetime) -> bool:
    """Whether a location with these weekly `hours` in `timezone` is open at `at` (aware).

    Pure, for routing and ETAs. An interval whose close is at or before its open runs past
    midnight into the next day, so `["22:00", "02:00"]` on Friday covers Saturday 01:00, and
    `["00:00", "00:00"]` the whole day.
    """
    if always_open(hours):
        return True
    local = at.astimezone(UTC if timezone == "UTC" else zoneinfo.ZoneInfo(timezone))
    now = local.hour * 60 + local.minute
    today = DAYS[local.weekday()]
    yesterday = DAYS[(local - timedelta(days=1)).weekday()]
    for opens, closes in (tuple(map(_minutes, interval)) for interval in getattr(hours, today)):
        if (opens < closes and opens <= now < closes) or (closes <= opens and now >= opens):
            return True
    for opens, closes in (tuple(map(_minutes, interval)) for interval in getattr(hours, yesterday)):
        if closes <= opens and now < closes:
            return True
    return False


# -- rows ------------------------------------------------------------------------------------

_encode = msgspec.json.Encoder().encode


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    decoded = {**row, **{column: _decoded(row[column]) for column in _JSON_COLUMNS}}
    decoded["address"] = decoded["address"] or None  # stored as {} when there is none
    return decoded


def to_out(row: dict[str, Any]) -> LocationOut:
    return msgspec.convert(_plain(row), LocationOut)


def _stored(values: dict[str, Any]) -> dict[str, Any]:
    """Field values → column values (JSON columns as JSON text)."""
    stored = dict(values)
    if "address" in stored:
        stored["address"] = _encode(stored["address"] or {}).decode()
    if "opening_hours" in stored:
        stored["opening_hours"] = _encode(stored["opening_hours"] or OpeningHours()).decode()
    if "modes" in stored:
        stored["modes"] = _encode(stored["modes"]).decode()
    return stored


# -- the life cycle --------------------------------------------------------------------------


async def create(principal: Principal, body: LocationCreate) -> LocationOut:
    _check_modes(body.modes)
    supplier_id = await acting_supplier(principal, body.supplier_id, KIND)
    _check_timezone(body.timezone)
    now = utcnow()
    fields = msgspec.structs.asdict(body)
    fields.pop("supplier_id")
    row = {
        **_stored(fields),
        "id": new_id("loc"),
        "tenant_id": principal.tenant_id,
        "supplier_id": supplier_id,
        "status": "active",
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    async with db().transaction():
        # every location write moves the tenant's routing revision, so that each gateway
        # process reloads this row into its routing index (see suppliers.locations.revisions)
        row["revision"] = await revisions.next_revision(principal.tenant_id)
        await insert_row(Location, row)
        out = to_out(row)
        await emit(principal.tenant_id, "location.created", out, supplier_id=supplier_id)
    return out


async def get(principal: Principal, location_id: str) -> LocationOut:
    return to_out(await get_one(Location, KIND, principal.tenant_id, location_id, visible(principal)))


async def list_(
    principal: Principal,
    limit: int,
    after: str | None,
    supplier_id: str | None = None,
    kind: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    filters = narrowed(visible(principal), {"supplier_id": supplier_id, "kind": kind, "status": status})
    if filters is None:
        return []  # asks for rows it may not see: there are none
    return await list_page(Location, principal.tenant_id, limit, after, filters)


async def update(principal: Principal, location_id: str, body: LocationUpdate) -> LocationOut:
    values = changes(body)
    if "modes" in values:
        _check_modes(body.modes)  # type: ignore[arg-type]
    if "timezone" in values:
        _check_timezone(body.timezone)  # type: ignore[arg-type]
    return await _write(principal, location_id, body.version, _stored(values), "location.updated")


async def set_status(principal: Principal, location_id: str, version: int | None, status: str) -> LocationOut:
    """An inactive location keeps its stock but is no routing candidate."""
    event = "location.activated" if status == "active" else "location.deactivated"
    return await _write(principal, location_id, version, {"status": status}, event)


async def _write(
    principal: Principal, location_id: str, version: int | None, values: dict[str, Any], event: str
) -> LocationOut:
    async with db().transaction():
        # a refused write (404, 409) rolls the revision back with it
        values = {**values, "revision": await revisions.next_revision(principal.tenant_id)}
        row = await update_versioned(
            Location, KIND, principal.tenant_id, location_id, version, values, visible(principal)
        )
        out = to_out(row)
        await emit(principal.tenant_id, event, out, supplier_id=out.supplier_id)
    return out


# -- for other areas (inventory, routing) ---------------------------------------------------


async def locations_of(tenant_id: str, location_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """id → the location as plain values (`supplier_id`, `status`, `kind`, `lat`, `lng`,
    `modes`, `service_radius_km`, `prep_minutes`, `opening_hours`, `timezone`,
    `daily_capacity`, …), for the ids that exist in the tenant; unknown or foreign ids are
    simply absent. Set-based: one query per 1000 ids, whatever the caller's batch size.
    JSON columns are decoded (`modes` a list, `opening_hours` a dict by day, `address` a
    dict or None).
    """
    ids = sorted(set(location_ids))
    found: dict[str, dict[str, Any]] = {}
    columns = ", ".join(column._meta.db_column_name for column in Location._meta.columns)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        marks = ", ".join("?" for _ in chunk)
        rows = await db().fetch(
            f"SELECT {columns} FROM locations WHERE tenant_id = ? AND id IN ({marks})", tenant_id, *chunk
        )
        for row in rows:
            plain = _plain(row)
            plain["opening_hours"] = msgspec.structs.asdict(msgspec.convert(plain["opening_hours"], OpeningHours))
            found[row["id"]] = plain
    return found
