"""Webhook metrics (`gateway.metrics`, Prometheus): attempts by outcome, dead letters,
disabled endpoints, and the lag from an event's commit to its successful delivery. Labels are
fixed sets only (never a tenant, an endpoint or an event)."""

from __future__ import annotations

from typing import Any

#: seconds: a healthy delivery lands in milliseconds, a retried one hours or days later
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0, 86400.0)

ATTEMPTS: Any = None
DEAD: Any = None
DISABLED: Any = None
LAG: Any = None

try:  # the metrics module arrives with issue 8
    from gateway import metrics as _metrics  # type: ignore[attr-defined]

    ATTEMPTS = _metrics.counter(
        "webhook_attempts_total", "Webhook delivery attempts by outcome (succeeded, failed, gone, refused)", ["outcome"]
    )
    DEAD = _metrics.counter("webhook_dead_letters_total", "Webhook deliveries dead-lettered")
    DISABLED = _metrics.counter(
        "webhook_endpoints_disabled_total", "Webhook endpoints disabled by the worker", ["reason"]
    )
    LAG = _metrics.histogram(
        "webhook_delivery_lag_seconds", "From an event's commit to its successful delivery", buckets=LAG_BUCKETS
    )
except ImportError:  # pragma: no cover
    pass


def observe(outcome: str, status: str, lag_seconds: float) -> None:
    if ATTEMPTS is None:
        return
    ATTEMPTS.labels(outcome=outcome).inc()
    if status == "dead":
        DEAD.inc()
    if status == "succeeded":
        LAG.observe(max(lag_seconds, 0.0))


def endpoint_disabled(status: str) -> None:
    if DISABLED is not None:
        DISABLED.labels(reason=status).inc()
