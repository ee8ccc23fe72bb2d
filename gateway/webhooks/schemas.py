"""Request and response shapes of webhook endpoints, deliveries and attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from gateway.http.fields import SPACES, Label, Strict, Version
from gateway.http.pagination import Page
from gateway.ids import pattern
from gateway.tenancy.schemas import Owner, OwnerOut
from gateway.webhooks.filters import PATTERN as EVENT_FILTER_PATTERN

Url = Annotated[
    str,
    msgspec.Meta(
        min_length=8,
        max_length=2048,
        # no spaces or control characters, spelled out (`\s` differs between Python and ECMA)
        pattern=rf"^[Hh][Tt][Tt][Pp][Ss]?://[^\x00-\x20\x7f-\x9f{SPACES}]+$",
        description="Where deliveries are POSTed: `https` to a public address (`http` and loopback only "
        "while GATEWAY_WEBHOOKS_ALLOW_INSECURE=1).",
    ),
]
EventFilter = Annotated[
    str,
    msgspec.Meta(
        max_length=64,
        pattern=EVENT_FILTER_PATTERN,
        description="An event type (`inventory.shortage`), a prefix (`order.*`) or `*` for all.",
    ),
]
EventFilters = Annotated[list[EventFilter], msgspec.Meta(min_length=1, max_length=50)]
EndpointStatus = Literal["enabled", "disabled", "auto_disabled"]
DeliveryStatus = Literal["pending", "succeeded", "dead"]
AttemptOutcome = Literal["succeeded", "failed", "gone", "refused"]
EndpointId = Annotated[str, msgspec.Meta(pattern=pattern("whe"))]


class EndpointCreate(Strict):
    url: Url
    events: EventFilters
    description: Label = ""
    #: whose endpoint: the caller when left out; the operator may name a supplier or channel
    owner: Owner | None = None


class EndpointUpdate(Strict):
    version: Version
    url: Url | msgspec.UnsetType = msgspec.UNSET
    events: EventFilters | msgspec.UnsetType = msgspec.UNSET
    description: Label | msgspec.UnsetType = msgspec.UNSET


class EndpointOut(msgspec.Struct, kw_only=True):
    id: str
    owner: OwnerOut
    url: str
    events: list[str]
    description: str
    #: `enabled`; `disabled` by hand; `auto_disabled` after a 410 or a run of dead letters
    status: EndpointStatus
    disabled_reason: str | None
    #: until when the secret before the last rotation still signs (both signatures are sent)
    previous_secret_expires_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class EndpointCreated(EndpointOut, kw_only=True):
    #: `whsec_…`: verify deliveries with it (Standard Webhooks); shown this once
    secret: str


class EndpointPage(Page[EndpointOut]):
    """A page of webhook endpoints."""


class SecretRotation(Strict):
    #: how long the current secret keeps signing beside the new one (0: revoke it now)
    overlap_hours: Annotated[int, msgspec.Meta(ge=0, le=24)] = 24


class SecretRotated(EndpointOut, kw_only=True):
    #: the new `whsec_…` secret, shown this once
    secret: str


class PingResult(msgspec.Struct, kw_only=True):
    """What the endpoint answered to a signed `webhook_endpoint.ping`, sent at once."""

    succeeded: bool
    status_code: int | None
    latency_ms: int
    response_excerpt: str
    error: str | None


class DeliveryOut(msgspec.Struct, kw_only=True):
    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    #: `pending` (due, or waiting for a retry), `succeeded`, or `dead` (the schedule ran out)
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


class DeliveryPage(Page[DeliveryOut]):
    """A page of deliveries."""


class AttemptOut(msgspec.Struct, kw_only=True):
    id: str
    delivery_id: str
    event_id: str
    outcome: AttemptOutcome
    status_code: int | None
    latency_ms: int
    #: the first bytes of the receiver's answer
    response_excerpt: str
    error: str | None
    at: datetime


class AttemptPage(Page[AttemptOut]):
    """A page of delivery attempts."""


class RedeliverEvent(Strict):
    #: one endpoint; left out: every enabled endpoint of the caller's that the event concerns
    endpoint_id: EndpointId | None = None


class RedeliverSince(Strict):
    #: deliveries created at or after this time that are dead or still failing are sent again now
    since: datetime


class Redelivered(msgspec.Struct, kw_only=True):
    #: the deliveries queued again (due now, with a fresh retry schedule)
    deliveries: list[DeliveryOut]


class RedeliveredCount(msgspec.Struct, kw_only=True):
    queued: int
