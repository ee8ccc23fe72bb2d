"""Webhook metrics (`gateway.metrics`, Prometheus): attempts by outcome, dead letters,
endpoints disabled by the worker, and the lag from an event's commit to its successful
delivery. Labels are fixed sets only (never a tenant, an endpoint or an event)."""

from __future__ import annotations

from gateway import metrics

#: seconds: a healthy delivery lands in milliseconds, a retried one hours or days later
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0, 86400.0)

ATTEMPTS = metrics.counter(
    "webhook_attempts_total",
    "Webhook delivery attempts by outcome: succeeded, failed, gone (410), refused",
    ["outcome"],
)
DEAD_LETTERS = metrics.counter("webhook_dead_letters_total", "Webhook deliveries dead-lettered")
DISABLED = metrics.counter(
    "webhook_endpoints_disabled_total", "Webhook endpoints disabled, by how: auto_disabled or disabled", ["status"]
)
LAG = metrics.histogram(
    "webhook_delivery_lag_seconds", "From an event's commit to its successful delivery", buckets=LAG_BUCKETS
)


def observe(outcome: str, status: str, lag_seconds: float) -> None:
    ATTEMPTS.labels(outcome=outcome).inc()
    if status == "dead":
        DEAD_LETTERS.inc()
    elif status == "succeeded":
        LAG.observe(max(lag_seconds, 0.0))


def endpoint_disabled(status: str) -> None:
    DISABLED.labels(status=status).inc()
