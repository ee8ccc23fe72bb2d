"""Webhook endpoints, their deliveries and each attempt; the fan-out's place in the outbox."""

from piccolo.columns import JSON, BigInt, Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class WebhookEndpoint(Table, tablename="webhook_endpoints"):
    id = Varchar(length=40, primary_key=True)
    tenant_id = Varchar(length=40)
    #: whose endpoint: `operator`, `supplier` or `channel`; it hears what its owner may read in the feed
    owner_type = Varchar(length=16)
    owner_id = Varchar(length=40, null=True, default=None)
    url = Varchar(length=2048)
    description = Varchar(length=200, default="")
    #: event type filters: `*`, `order.*`, `inventory.shortage`
    events = JSON()
    #: `enabled`, `disabled` (by hand) or `auto_disabled` (410 Gone, or a run of dead letters)
    status = Varchar(length=16, default="enabled")
    disabled_reason = Varchar(length=200, null=True, default=None)
    #: the signing secret, sealed with the data keys (`gateway.crypto`); shown once
    secret = Text()
    #: the secret before the last rotation, still signing until `previous_secret_expires_at`
    previous_secret = Text(null=True, default=None)
    previous_secret_expires_at = Timestamptz(null=True, default=None)
    #: deliveries dead-lettered since the last success (the endpoint is disabled at the limit)
    dead_letters_in_a_row = Integer(default=0)
    version = Integer(default=1)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class WebhookDelivery(Table, tablename="webhook_deliveries"):
    """One event for one endpoint: `pending` until a 2xx (`succeeded`) or the schedule is spent
    (`dead`). A claimed delivery's `next_attempt_at` is pushed out by the claim's lease, so a
    process killed mid-delivery leaves it due again, not lost."""

    id = Varchar(length=40, primary_key=True)
    tenant_id = Varchar(length=40)
    endpoint_id = Varchar(length=40)
    event_id = Varchar(length=40)
    event_type = Varchar(length=64)
    status = Varchar(length=16, default="pending")
    #: every attempt ever made (redeliveries included)
    attempts = Integer(default=0)
    #: failed attempts in a row since the delivery was (re)queued: the step of the schedule
    failures = Integer(default=0)
    next_attempt_at = Timestamptz()
    #: the claim that holds it (a token per claim), None when no worker does
    claim = Varchar(length=40, null=True, default=None)
    #: redelivered while a claim held it: when that attempt is recorded the delivery is due
    #: again at once instead of finished (the claim keeps it: never two attempts at once)
    requeued = Boolean(default=False)
    last_attempt_at = Timestamptz(null=True, default=None)
    last_status_code = Integer(null=True, default=None)
    last_error = Varchar(length=500, null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    #: when it succeeded or was dead-lettered
    finished_at = Timestamptz(null=True, default=None)


class WebhookAttempt(Table, tablename="webhook_attempts"):
    """One HTTP request of a delivery, as the receiver answered it."""

    id = Varchar(length=40, primary_key=True)
    tenant_id = Varchar(length=40)
    endpoint_id = Varchar(length=40)
    delivery_id = Varchar(length=40)
    event_id = Varchar(length=40)
    #: `succeeded`, `failed`, `gone` (410) or `refused` (the SSRF guard stopped it)
    outcome = Varchar(length=16)
    status_code = Integer(null=True, default=None)
    latency_ms = Integer(default=0)
    #: the first bytes of the response body, as text
    response_excerpt = Text(default="")
    error = Varchar(length=500, null=True, default=None)
    at = Timestamptz()


class WebhookFanout(Table, tablename="webhook_fanout"):
    """How far the fan-out has read the outbox: the feed's (position, id) of the last event it
    turned into deliveries. One row, moved by whoever holds the fan-out's lock."""

    id = Varchar(length=40, primary_key=True)
    position = BigInt(default=0)
    event_id = Varchar(length=40, default="")
