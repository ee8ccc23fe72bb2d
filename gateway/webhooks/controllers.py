"""HTTP for webhook endpoints, their deliveries and attempts, and redelivery."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromQuery, JSONBody, PathParameter, QueryParameter

import gateway.webhooks.jobs  # noqa: F401 - registers the delivery worker with gateway.background
from gateway.events.controllers import EventId
from gateway.http.fields import StatusChange
from gateway.http.idempotency import IdempotencyKey
from gateway.http.pagination import DEFAULT_LIMIT, Limit, after_param, make_page
from gateway.http.problems import responses
from gateway.ids import pattern
from gateway.tenancy.auth import principal_of
from gateway.tenancy.schemas import OWNER_ID_PATTERN, OwnerId
from gateway.webhooks import services
from gateway.webhooks.schemas import (
    AttemptOutcome,
    AttemptPage,
    DeliveryPage,
    DeliveryStatus,
    EndpointCreate,
    EndpointCreated,
    EndpointOut,
    EndpointPage,
    EndpointStatus,
    EndpointUpdate,
    PingResult,
    Redelivered,
    RedeliveredCount,
    RedeliverEvent,
    RedeliverSince,
    SecretRotated,
    SecretRotation,
)

EndpointId = Annotated[str, PathParameter(pattern=pattern("whe"))]
#: an event type, as `GET /v1/events?type=` takes it
EVENT_TYPE_PATTERN = r"^[a-z_]+(\.[a-z_]+)+$"
#: the cursor of an endpoint's own lists: opaque (the previous page's `next_cursor`); the path
#: already confines the list to one endpoint
Cursor = Annotated[
    str | None,
    QueryParameter(
        name="after",
        max_length=64,
        pattern=r"^[0-9a-z_]+$",
        description="Return items after this cursor (the previous page's `next_cursor`).",
    ),
]


class WebhookEndpointController(Controller):
    path = "/v1/webhook-endpoints"
    tags = ["webhooks"]
    opt = {"scope_area": "webhooks"}  # OAuth scopes read:/write:webhooks (gateway.oauth.scopes)

    @post(responses=responses(403, 404, 409, 413, 422), summary="Create a webhook endpoint")
    async def create_webhook_endpoint(
        self, request: Request[Any, Any, Any], data: JSONBody[EndpointCreate], idempotency_key: IdempotencyKey = None
    ) -> EndpointCreated:
        """Deliveries of the events its owner may read in the feed (`events` filters them: `*`,
        `order.*`, `inventory.shortage`), signed per Standard Webhooks with `secret`, which this
        response alone shows. The owner is the caller; the operator may name a supplier or a
        channel. `url` must be `https` to a public address: a private, loopback or link-local
        one is refused with a problem naming `url`."""
        return await services.create(principal_of(request), data)

    @get(responses=responses(), summary="List webhook endpoints")
    async def list_webhook_endpoints(
        self,
        request: Request[Any, Any, Any],
        limit: Limit = DEFAULT_LIMIT,
        after: after_param("whe") = None,  # type: ignore[valid-type]
        owner_type: FromQuery[Literal["operator", "supplier", "channel"] | None] = None,
        owner_id: Annotated[OwnerId | None, QueryParameter(name="owner_id", pattern=OWNER_ID_PATTERN)] = None,
        status: FromQuery[EndpointStatus | None] = None,
    ) -> EndpointPage:
        """The operator sees every endpoint of the tenant; a supplier or channel its own."""
        rows = await services.list_(principal_of(request), limit, after, owner_type, owner_id, status)
        return make_page(EndpointPage, rows, limit, services.to_out)

    @get("/{endpoint_id:str}", responses=responses(404), summary="Retrieve a webhook endpoint")
    async def get_webhook_endpoint(self, request: Request[Any, Any, Any], endpoint_id: EndpointId) -> EndpointOut:
        return await services.get(principal_of(request), endpoint_id)

    @patch("/{endpoint_id:str}", responses=responses(404, 409, 413), summary="Update a webhook endpoint")
    async def update_webhook_endpoint(
        self, request: Request[Any, Any, Any], endpoint_id: EndpointId, data: JSONBody[EndpointUpdate]
    ) -> EndpointOut:
        """Change the URL (checked as at creation), the event filters or the description; a stale
        `version` is a 409."""
        return await services.update(principal_of(request), endpoint_id, data)

    @delete("/{endpoint_id:str}", responses=responses(404), summary="Delete a webhook endpoint")
    async def delete_webhook_endpoint(self, request: Request[Any, Any, Any], endpoint_id: EndpointId) -> None:
        """The endpoint, its deliveries and attempts are removed; the events stay in the feed."""
        await services.delete(principal_of(request), endpoint_id)

    @post(
        "/{endpoint_id:str}/disable",
        status_code=200,
        responses=responses(404, 409, 413, 422),
        summary="Disable a webhook endpoint",
    )
    async def disable_webhook_endpoint(
        self,
        request: Request[Any, Any, Any],
        endpoint_id: EndpointId,
        data: JSONBody[StatusChange | None] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> EndpointOut:
        """Deliveries stop at once; pending ones are dead-lettered (redeliver them later)."""
        return await services.disable(principal_of(request), endpoint_id, data.version if data else None)

    @post(
        "/{endpoint_id:str}/enable",
        status_code=200,
        responses=responses(404, 409, 413, 422),
        summary="Enable a webhook endpoint",
    )
    async def enable_webhook_endpoint(
        self,
        request: Request[Any, Any, Any],
        endpoint_id: EndpointId,
        data: JSONBody[StatusChange | None] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> EndpointOut:
        """Deliveries resume with the events from now on; send what was missed with
        `POST /v1/webhook-endpoints/{id}/redeliver`, or read it from the feed."""
        return await services.enable(principal_of(request), endpoint_id, data.version if data else None)

    @post(
        "/{endpoint_id:str}/rotate-secret",
        status_code=200,
        responses=responses(404, 409, 413, 422),
        summary="Rotate a webhook endpoint's secret",
    )
    async def rotate_webhook_secret(
        self,
        request: Request[Any, Any, Any],
        endpoint_id: EndpointId,
        data: JSONBody[SecretRotation | None] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> SecretRotated:
        """A new secret, shown in this response only, signs from now on; the old one keeps
        signing beside it for `overlap_hours` (default 24), so `webhook-signature` carries both."""
        return await services.rotate_secret(principal_of(request), endpoint_id, data.overlap_hours if data else 24)

    @post(
        "/{endpoint_id:str}/ping",
        status_code=200,
        responses=responses(404, 409, 413, 422),
        summary="Send a test ping to a webhook endpoint",
    )
    async def ping_webhook_endpoint(
        self, request: Request[Any, Any, Any], endpoint_id: EndpointId, idempotency_key: IdempotencyKey = None
    ) -> PingResult:
        """A signed `webhook_endpoint.ping` event, sent now and not retried; the answer tells
        whether the receiver verified and accepted it."""
        return await services.ping(principal_of(request), endpoint_id)

    @get("/{endpoint_id:str}/deliveries", responses=responses(404), summary="List a webhook endpoint's deliveries")
    async def list_webhook_deliveries(
        self,
        request: Request[Any, Any, Any],
        endpoint_id: EndpointId,
        limit: Limit = DEFAULT_LIMIT,
        after: Cursor = None,
        status: FromQuery[DeliveryStatus | None] = None,
        event_type: Annotated[
            str | None,
            QueryParameter(name="event_type", pattern=EVENT_TYPE_PATTERN, max_length=64, description="Only this type."),
        ] = None,
    ) -> DeliveryPage:
        """One delivery per event sent to the endpoint, oldest first: `pending` (due or waiting
        for a retry), `succeeded`, or `dead` (its retries ran out; redeliver it)."""
        rows = await services.list_deliveries(principal_of(request), endpoint_id, limit, after, status, event_type)
        return make_page(DeliveryPage, rows, limit, services.delivery_out)

    @get("/{endpoint_id:str}/attempts", responses=responses(404), summary="List a webhook endpoint's attempts")
    async def list_webhook_attempts(
        self,
        request: Request[Any, Any, Any],
        endpoint_id: EndpointId,
        limit: Limit = DEFAULT_LIMIT,
        after: Cursor = None,
        outcome: FromQuery[AttemptOutcome | None] = None,
    ) -> AttemptPage:
        """Every HTTP request made to the endpoint, oldest first, with the status, latency and the
        first bytes of the answer."""
        rows = await services.list_attempts(principal_of(request), endpoint_id, limit, after, outcome)
        return make_page(AttemptPage, rows, limit, services.attempt_out)

    @post(
        "/{endpoint_id:str}/redeliver",
        status_code=202,
        responses=responses(404, 409, 413, 422),
        summary="Redeliver an endpoint's failed deliveries",
    )
    async def redeliver_webhook_deliveries(
        self,
        request: Request[Any, Any, Any],
        endpoint_id: EndpointId,
        data: JSONBody[RedeliverSince],
        idempotency_key: IdempotencyKey = None,
    ) -> RedeliveredCount:
        """Every delivery created since `since` that was dead-lettered or is still failing is due
        again now, with a fresh retry schedule. The endpoint must be enabled (409 otherwise)."""
        return await services.redeliver_since(principal_of(request), endpoint_id, data.since)


class EventRedeliveryController(Controller):
    path = "/v1/events"
    tags = ["webhooks"]
    opt = {"scope_area": "webhooks"}  # OAuth scopes read:/write:webhooks (gateway.oauth.scopes)

    @post(
        "/{event_id:str}/redeliver",
        status_code=202,
        responses=responses(404, 409, 413, 422),
        summary="Redeliver an event to webhook endpoints",
    )
    async def redeliver_event(
        self,
        request: Request[Any, Any, Any],
        event_id: EventId,
        data: JSONBody[RedeliverEvent | None] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Redelivered:
        """Send the event again (due now, fresh retry schedule) to `endpoint_id`, or to every
        enabled endpoint of the caller's that hears it. 409 when none does, or when the named
        endpoint is disabled, does not subscribe to the type, or its owner is not concerned."""
        return await services.redeliver_event(principal_of(request), event_id, data.endpoint_id if data else None)


#: the controllers of this area, mounted by gateway.app
ROUTES: list[Any] = [WebhookEndpointController, EventRedeliveryController]
