"""Webhook endpoints (the one writer of `webhook_endpoints`), their deliveries and attempts as
the API shows them, and redelivery.

An endpoint belongs to the operator, a supplier or a channel, and hears exactly what its owner
reads in the feed (`gateway.events.audience`). The operator sees and manages every endpoint of
its tenant; a supplier or channel only its own. Secrets are sealed with the data keys
(`gateway.crypto`, bound to the row and field) and shown once, at creation and at rotation.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import msgspec

from gateway import crypto
from gateway.clock import utcnow
from gateway.events.audience import concerns, sql_filter
from gateway.events.schemas import EventOut
from gateway.events.services import emit
from gateway.http.problems import FieldError, ProblemError, conflict, not_found
from gateway.ids import new_id
from gateway.records import Filters, get_one, insert_row, json_value, list_page, narrowed, update_versioned
from gateway.storage import db
from gateway.tenancy.principal import OwnerType, Principal
from gateway.tenancy.schemas import OwnerOut
from gateway.tenancy.services import check_owner
from gateway.webhooks import config, metrics, sender, signing, ssrf
from gateway.webhooks.config import WebhookConfig
from gateway.webhooks.filters import matches, normalised
from gateway.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from gateway.webhooks.schemas import (
    AttemptOut,
    DeliveryOut,
    EndpointCreate,
    EndpointCreated,
    EndpointOut,
    EndpointUpdate,
    PingResult,
    Redelivered,
    RedeliveredCount,
    SecretRotated,
)

KIND = "webhook endpoint"
COLUMNS = (
    "id, tenant_id, owner_type, owner_id, url, description, events, status, disabled_reason, secret, "
    "previous_secret, previous_secret_expires_at, dead_letters_in_a_row, version, created_at, updated_at"
)
DELIVERY_COLUMNS = (
    "id, tenant_id, endpoint_id, event_id, event_type, status, attempts, failures, next_attempt_at, claim, "
    "last_attempt_at, last_status_code, last_error, created_at, updated_at, finished_at"
)
_json = msgspec.json.Encoder()


def to_out(row: dict[str, Any]) -> EndpointOut:
    return EndpointOut(
        id=row["id"],
        owner=OwnerOut(type=row["owner_type"], id=row["owner_id"]),
        url=row["url"],
        events=json_value(row["events"]),
        description=row["description"],
        status=row["status"],
        disabled_reason=row["disabled_reason"],
        previous_secret_expires_at=row["previous_secret_expires_at"] if row["previous_secret"] else None,
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def delivery_out(row: dict[str, Any]) -> DeliveryOut:
    return DeliveryOut(
        id=row["id"],
        endpoint_id=row["endpoint_id"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        status=row["status"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"] if row["status"] == "pending" else None,
        last_attempt_at=row["last_attempt_at"],
        last_status_code=row["last_status_code"],
        last_error=row["last_error"],
        created_at=row["created_at"],
        finished_at=row["finished_at"],
    )


def attempt_out(row: dict[str, Any]) -> AttemptOut:
    return msgspec.convert(row, AttemptOut, from_attributes=False, strict=False)


def audience_of(row: dict[str, Any]) -> dict[str, str | None]:
    """The parties an endpoint's own events concern: its owner (and always the operator)."""
    return {
        "supplier_id": row["owner_id"] if row["owner_type"] == "supplier" else None,
        "channel_id": row["owner_id"] if row["owner_type"] == "channel" else None,
    }


def _visible(principal: Principal) -> Filters:
    """The operator sees every endpoint of its tenant; a supplier or channel its own."""
    if principal.is_operator:
        return {}
    return {"owner_type": principal.type, "owner_id": principal.owner_id}


def _seal(secret: str, tenant_id: str, endpoint_id: str, field: str) -> str:
    return crypto.encrypt(secret.encode(), crypto.row_context(tenant_id, endpoint_id, field))


async def _check_url(url: str) -> None:
    """A well-formed URL the guard refuses (private address, http, credentials) is a 409 naming
    `url`, as the house refuses other well-formed values it cannot act on."""
    problem = await ssrf.check_url(url, config.current().allow_insecure)
    if problem is not None:
        raise ProblemError(
            409,
            f"Webhooks are delivered only to https URLs on public addresses: {url} {problem}",
            slug="url-not-allowed",
            errors=[FieldError(field="url", message=problem)],
        )


async def _endpoint(principal: Principal, endpoint_id: str) -> dict[str, Any]:
    return await get_one(WebhookEndpoint, KIND, principal.tenant_id, endpoint_id, _visible(principal))


async def lock_deliveries(where: str, *args: Any) -> None:
    """Inside a transaction, on PostgreSQL: lock the deliveries matching `where` in id order
    before a statement changes several of them. Every writer of several deliveries (the worker's
    records, redelivery, disabling) takes its rows in that one order, so two of them never wait
    for each other in a circle (a deadlock); SQLite's single writer needs none of this."""
    database = db()
    if database.lock_rows_sql:
        await database.fetch(
            f"SELECT id FROM webhook_deliveries WHERE {where} ORDER BY id{database.lock_rows_sql}", *args
        )


# -- endpoints ----------------------------------------------------------------------------------


async def create(principal: Principal, body: EndpointCreate) -> EndpointCreated:
    if body.owner is None:
        owner_type: OwnerType = principal.type
        owner_id = principal.owner_id
    else:
        owner_type = body.owner.__struct_config__.tag  # type: ignore[assignment]
        owner_id = body.owner.id
    await check_owner(principal, owner_type, owner_id)
    await _check_url(body.url)
    now = utcnow()
    secret = signing.new_secret()
    endpoint_id = new_id("whe")
    row: dict[str, Any] = {
        "id": endpoint_id,
        "tenant_id": principal.tenant_id,
        "owner_type": owner_type,
        "owner_id": owner_id,
        "url": body.url,
        "description": body.description,
        "events": normalised(body.events),
        "status": "enabled",
        "disabled_reason": None,
        "secret": _seal(secret, principal.tenant_id, endpoint_id, "secret"),
        "previous_secret": None,
        "previous_secret_expires_at": None,
        "dead_letters_in_a_row": 0,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    async with db().transaction():
        await insert_row(WebhookEndpoint, row)
        out = to_out(row)
        await emit(principal.tenant_id, "webhook_endpoint.created", out, **audience_of(row))
    return EndpointCreated(**msgspec.structs.asdict(out), secret=secret)


async def get(principal: Principal, endpoint_id: str) -> EndpointOut:
    return to_out(await _endpoint(principal, endpoint_id))


async def list_(
    principal: Principal,
    limit: int,
    after: str | None,
    owner_type: str | None,
    owner_id: str | None,
    status: str | None,
) -> list[dict[str, Any]]:
    filters = narrowed(_visible(principal), {"owner_type": owner_type, "owner_id": owner_id, "status": status})
    if filters is None:
        return []
    return await list_page(WebhookEndpoint, principal.tenant_id, limit, after, filters)


async def update(principal: Principal, endpoint_id: str, body: EndpointUpdate) -> EndpointOut:
    values: dict[str, Any] = {}
    if body.url is not msgspec.UNSET:
        await _check_url(body.url)
        values["url"] = body.url
    if body.events is not msgspec.UNSET:
        values["events"] = _json.encode(normalised(body.events)).decode()
    if body.description is not msgspec.UNSET:
        values["description"] = body.description
    return await _write(principal, endpoint_id, body.version, values, "webhook_endpoint.updated")


async def enable(principal: Principal, endpoint_id: str, version: int | None) -> EndpointOut:
    """Deliveries resume with the events from now on; what failed meanwhile is redelivered with
    `POST …/redeliver` (or read from the feed)."""
    values = {"status": "enabled", "disabled_reason": None, "dead_letters_in_a_row": 0}
    return await _write(principal, endpoint_id, version, values, "webhook_endpoint.enabled")


async def disable(principal: Principal, endpoint_id: str, version: int | None) -> EndpointOut:
    """Stop deliveries at once: pending ones are dead-lettered (redeliverable later)."""
    async with db().transaction():
        row = await _endpoint(principal, endpoint_id)
        if version is not None and row["version"] != version:
            raise conflict(f"{KIND} {endpoint_id} is at version {row['version']}, not {version}", "version-conflict")
        if row["status"] != "enabled":
            return to_out(row)
        disabled = await disable_endpoint(principal.tenant_id, endpoint_id, "disabled by hand", utcnow(), "disabled")
        return to_out(disabled or row)


async def delete(principal: Principal, endpoint_id: str) -> None:
    """The endpoint, its deliveries and their attempts go; the events stay in the feed."""
    async with db().transaction():
        row = await _endpoint(principal, endpoint_id)
        database = db()
        await database.fetch("DELETE FROM webhook_attempts WHERE endpoint_id = ?", endpoint_id)
        await database.fetch("DELETE FROM webhook_deliveries WHERE endpoint_id = ?", endpoint_id)
        await database.fetch(
            "DELETE FROM webhook_endpoints WHERE id = ? AND tenant_id = ?", endpoint_id, row["tenant_id"]
        )
        await emit(principal.tenant_id, "webhook_endpoint.deleted", to_out(row), **audience_of(row))


async def rotate_secret(principal: Principal, endpoint_id: str, overlap_hours: int) -> SecretRotated:
    """A new secret signs from now on; the current one keeps signing beside it for
    `overlap_hours` (both signatures in `webhook-signature`), so receivers can switch without
    missing a delivery. Rotating again within the overlap ends the oldest secret at once."""
    now = utcnow()
    secret = signing.new_secret()
    async with db().transaction():
        row = await _endpoint(principal, endpoint_id)
        current = crypto.decrypt(row["secret"], crypto.row_context(row["tenant_id"], endpoint_id, "secret")).decode()
        values: dict[str, Any] = {
            "secret": _seal(secret, row["tenant_id"], endpoint_id, "secret"),
            "previous_secret": _seal(current, row["tenant_id"], endpoint_id, "previous_secret")
            if overlap_hours
            else None,
            "previous_secret_expires_at": now + timedelta(hours=overlap_hours) if overlap_hours else None,
        }
        updated = await update_versioned(
            WebhookEndpoint, KIND, principal.tenant_id, endpoint_id, None, values, _visible(principal)
        )
        out = to_out(updated)
        await emit(principal.tenant_id, "webhook_endpoint.secret_rotated", out, **audience_of(updated))
    return SecretRotated(**msgspec.structs.asdict(out), secret=secret)


async def ping(principal: Principal, endpoint_id: str) -> PingResult:
    """Send a signed `webhook_endpoint.ping` now, whatever the endpoint's status, and report the
    answer. The ping is not an event of the feed and is not retried."""
    row = await _endpoint(principal, endpoint_id)
    settings = config.current()
    now = utcnow()
    event = EventOut(
        id=new_id("evt"),
        type="webhook_endpoint.ping",
        created_at=now,
        data={"endpoint_id": endpoint_id, "url": row["url"]},
    )
    keys = sender.signing_keys({**row, "endpoint_id": endpoint_id}, now)
    async with ssrf.guarded_client(settings.allow_insecure, httpx.Timeout(settings.timeout), 1) as client:
        answer = await sender.post(client, row["url"], event.id, _json.encode(event), keys, settings.timeout)
    return PingResult(
        succeeded=answer.status_code is not None and 200 <= answer.status_code < 300,
        status_code=answer.status_code,
        latency_ms=answer.latency_ms,
        response_excerpt=answer.excerpt,
        error=answer.error,
    )


async def _write(
    principal: Principal, endpoint_id: str, version: int | None, values: dict[str, Any], event: str
) -> EndpointOut:
    async with db().transaction():
        row = await update_versioned(
            WebhookEndpoint, KIND, principal.tenant_id, endpoint_id, version, values, _visible(principal)
        )
        out = to_out(row)
        await emit(principal.tenant_id, event, out, **audience_of(row))
    return out


# -- deliveries and attempts ----------------------------------------------------------------------


async def list_deliveries(
    principal: Principal,
    endpoint_id: str,
    limit: int,
    after: str | None,
    status: str | None,
    event_type: str | None,
) -> list[dict[str, Any]]:
    await _endpoint(principal, endpoint_id)
    filters: Filters = {"endpoint_id": endpoint_id}
    for column, value in (("status", status), ("event_type", event_type)):
        if value is not None:
            filters[column] = value
    return await list_page(WebhookDelivery, principal.tenant_id, limit, after, filters)


async def list_attempts(
    principal: Principal, endpoint_id: str, limit: int, after: str | None, outcome: str | None
) -> list[dict[str, Any]]:
    await _endpoint(principal, endpoint_id)
    filters: Filters = {"endpoint_id": endpoint_id}
    if outcome is not None:
        filters["outcome"] = outcome
    return await list_page(WebhookAttempt, principal.tenant_id, limit, after, filters)


async def redeliver_event(principal: Principal, event_id: str, endpoint_id: str | None) -> Redelivered:
    """Queue the event again, due now with a fresh schedule, for one endpoint or for every
    enabled endpoint the caller sees that hears it. Only endpoints whose owner the event
    concerns can receive it, as at the first delivery."""
    database = db()
    audience_sql, args = sql_filter(principal.type, principal.owner_id)
    found = await database.fetch(
        "SELECT id, type, supplier_id, channel_id FROM events WHERE id = ? AND tenant_id = ?" + audience_sql,
        event_id,
        principal.tenant_id,
        *args,
    )
    if not found:
        raise not_found("event", event_id)
    event = found[0]

    def hears(row: dict[str, Any]) -> bool:
        return concerns(row["owner_type"], row["owner_id"], event["supplier_id"], event["channel_id"]) and matches(
            json_value(row["events"]), event["type"]
        )

    if endpoint_id is not None:
        row = await _endpoint(principal, endpoint_id)
        if row["status"] != "enabled":
            raise conflict(f"{KIND} {endpoint_id} is {row['status']}: enable it first", "endpoint-disabled")
        if not concerns(row["owner_type"], row["owner_id"], event["supplier_id"], event["channel_id"]):
            raise conflict(f"event {event_id} does not concern the owner of {KIND} {endpoint_id}", "not-in-audience")
        if not matches(json_value(row["events"]), event["type"]):
            raise conflict(f"{KIND} {endpoint_id} does not subscribe to {event['type']}", "not-subscribed")
        targets = [row]
    else:
        filters = {**_visible(principal), "status": "enabled"}
        rows = await database.fetch(
            f"SELECT {COLUMNS} FROM webhook_endpoints WHERE tenant_id = ?"
            + "".join(f" AND {column} = ?" for column in filters),
            principal.tenant_id,
            *filters.values(),
        )
        targets = [row for row in rows if hears(row)]
        if not targets:
            raise conflict(f"no enabled webhook endpoint of yours hears event {event_id}", "no-endpoint")
    now = utcnow()
    queued: list[DeliveryOut] = []
    targets.sort(key=lambda row: row["id"])
    async with database.transaction():
        ids = [target["id"] for target in targets]
        await lock_deliveries(f"event_id = ? AND endpoint_id IN ({', '.join('?' for _ in ids)})", event_id, *ids)
        for target in targets:
            rows = await database.fetch(
                "INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, event_type, status, attempts, "
                "failures, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, 0, ?, ?, ?) "
                "ON CONFLICT (endpoint_id, event_id) DO UPDATE SET status = 'pending', failures = 0, finished_at = NULL, "
                # a delivery being sent right now keeps its claim and lease (never two at once) and
                # is marked: recording that attempt makes it due again instead of finishing it
                "next_attempt_at = CASE WHEN webhook_deliveries.claim IS NULL THEN excluded.next_attempt_at "
                "ELSE webhook_deliveries.next_attempt_at END, "
                "requeued = webhook_deliveries.claim IS NOT NULL, updated_at = excluded.updated_at "
                f"RETURNING {DELIVERY_COLUMNS}",
                new_id("whd"),
                principal.tenant_id,
                target["id"],
                event_id,
                event["type"],
                now,
                now,
                now,
            )
            queued.append(delivery_out(rows[0]))
    return Redelivered(deliveries=queued)


async def redeliver_since(principal: Principal, endpoint_id: str, since: datetime) -> RedeliveredCount:
    """Every delivery of the endpoint created since `since` that was dead-lettered, or that is
    still failing, is due again now with a fresh schedule."""
    row = await _endpoint(principal, endpoint_id)
    if row["status"] != "enabled":
        raise conflict(f"{KIND} {endpoint_id} is {row['status']}: enable it first", "endpoint-disabled")
    now = utcnow()
    database = db()
    async with database.transaction():
        await lock_deliveries("endpoint_id = ? AND created_at >= ?", endpoint_id, since)
        rows = await _requeue(now, endpoint_id, principal.tenant_id, since)
    return RedeliveredCount(queued=len(rows))


async def _requeue(now: datetime, endpoint_id: str, tenant_id: str, since: datetime) -> list[dict[str, Any]]:
    return await db().fetch(
        "UPDATE webhook_deliveries SET status = 'pending', failures = 0, next_attempt_at = ?, finished_at = NULL, "
        "updated_at = ? WHERE endpoint_id = ? AND tenant_id = ? AND created_at >= ? AND claim IS NULL "
        "AND (status = 'dead' OR (status = 'pending' AND failures > 0)) RETURNING id",
        now,
        now,
        endpoint_id,
        tenant_id,
        since,
    )


# -- what the worker's outcomes mean for endpoints ------------------------------------------------


async def after_attempts(outcomes: list[tuple[str, str, str, str]], settings: WebhookConfig, now: datetime) -> None:
    """Given (tenant, endpoint, outcome, delivery status) of a batch of attempts, in the
    worker's transaction: a success ends an endpoint's run of dead letters; a dead letter
    extends it and at `disable_after` disables the endpoint; a 410 Gone disables it at once."""
    database = db()
    runs: dict[str, int | None] = {}  # endpoint → dead letters to add (None: a success reset it)
    tenants: dict[str, str] = {}
    gone: set[str] = set()
    for tenant_id, endpoint_id, outcome, status in outcomes:
        tenants[endpoint_id] = tenant_id
        if outcome == "gone":
            gone.add(endpoint_id)
        elif status == "succeeded":
            runs[endpoint_id] = None
        elif status == "dead":
            runs[endpoint_id] = (runs.get(endpoint_id) or 0) + 1
    resets = [endpoint_id for endpoint_id, added in runs.items() if added is None]
    if resets:
        await database.fetch(
            "UPDATE webhook_endpoints SET dead_letters_in_a_row = 0 WHERE dead_letters_in_a_row > 0 AND id IN "
            f"({', '.join('?' for _ in resets)})",
            *resets,
        )
    for endpoint_id, added in runs.items():
        if added is None:
            continue
        rows = await database.fetch(
            "UPDATE webhook_endpoints SET dead_letters_in_a_row = dead_letters_in_a_row + ? WHERE id = ? "
            "RETURNING dead_letters_in_a_row",
            added,
            endpoint_id,
        )
        if rows and rows[0]["dead_letters_in_a_row"] >= settings.disable_after:
            reason = f"{rows[0]['dead_letters_in_a_row']} deliveries dead-lettered in a row"
            await disable_endpoint(tenants[endpoint_id], endpoint_id, reason, now)
    for endpoint_id in gone:
        await disable_endpoint(tenants[endpoint_id], endpoint_id, "the receiver answered 410 Gone", now)


async def disable_endpoint(
    tenant_id: str, endpoint_id: str, reason: str, now: datetime, status: str = "auto_disabled"
) -> dict[str, Any] | None:
    """Disable an enabled endpoint (in the caller's transaction): its pending deliveries are
    dead-lettered (redeliver them once it is enabled again) and `webhook_endpoint.disabled`
    tells its owner and the operator. None when it was not enabled."""
    database = db()
    rows = await database.fetch(
        "UPDATE webhook_endpoints SET status = ?, disabled_reason = ?, version = version + 1, updated_at = ? "
        f"WHERE tenant_id = ? AND id = ? AND status = 'enabled' RETURNING {COLUMNS}",
        status,
        reason,
        now,
        tenant_id,
        endpoint_id,
    )
    if not rows:
        return None
    await lock_deliveries("endpoint_id = ? AND status = 'pending'", endpoint_id)
    await database.fetch(
        "UPDATE webhook_deliveries SET status = 'dead', claim = NULL, last_error = ?, updated_at = ?, finished_at = ? "
        "WHERE endpoint_id = ? AND status = 'pending'",
        f"endpoint disabled: {reason}"[:500],
        now,
        now,
        endpoint_id,
    )
    await emit(tenant_id, "webhook_endpoint.disabled", to_out(rows[0]), **audience_of(rows[0]))
    metrics.endpoint_disabled(status)
    return rows[0]


async def purge(retention_days: int, batch: int = 5000, batches: int = 20) -> int:
    """Delete attempts, and succeeded or dead deliveries, last touched before the retention;
    in bounded batches, so one tick never holds the database for long. The rows removed."""
    database = db()
    cutoff = utcnow() - timedelta(days=retention_days)
    removed = 0
    for table, condition in (
        ("webhook_attempts", "at < ?"),
        ("webhook_deliveries", "status IN ('succeeded', 'dead') AND updated_at < ?"),
    ):
        for _ in range(batches):
            rows = await database.fetch(
                f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE {condition} LIMIT ?) RETURNING id",
                cutoff,
                batch,
            )
            removed += len(rows)
            if len(rows) < batch:
                break
    return removed
