"""Prometheus metrics, summed over every worker process of a `gateway serve`.

Domains define their own metrics here, at import, and count into them:

    from gateway import metrics

    DELIVERIES = metrics.counter("webhook_deliveries_total", "Webhook delivery attempts", ["outcome"])
    DELIVERIES.labels(outcome="delivered").inc()

Names get the `gateway_` prefix. **Labels never carry tenant data** (no tenant, key, party or
object ids, no free text): only small fixed sets such as a route template, a status, a reason
slug or a job name, so that a scrape never leaks one tenant to another and series stay few.

Several workers: `gateway serve` gives its workers one directory (`prometheus_client`'s
multiprocess mode, `PROMETHEUS_MULTIPROC_DIR`); each worker writes its values to memory-mapped
files there and `GET /metrics`, whichever worker answers, sums them all. The directory is set
up by `gateway serve` before this module is first imported (`gateway.cli`), because
prometheus-client picks its storage once, at import.
Without it (tests, one in-process app) the values live in this process's default registry.

`GET /metrics` is served only when `GATEWAY_METRICS_TOKEN` is set, to callers presenting it
as a bearer token (Prometheus: `authorization: {credentials: ...}`); otherwise it is a 404.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable, Sequence

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest

PREFIX = "gateway_"
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

#: request latency buckets, seconds: a read of the API takes a millisecond or two, an order tens
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def counter(name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
    """A counter named `gateway_<name>` (end counters' names in `_total`)."""
    return Counter(_full(name).removesuffix("_total"), documentation, list(labels))


def histogram(
    name: str, documentation: str, labels: Sequence[str] = (), buckets: Sequence[float] = LATENCY_BUCKETS
) -> Histogram:
    return Histogram(_full(name), documentation, list(labels), buckets=list(buckets))


def _full(name: str) -> str:
    return name if name.startswith(PREFIX) else PREFIX + name


def render() -> tuple[bytes, str]:
    """The exposition text and its content type, summed over the server's workers."""
    if os.environ.get(MULTIPROCESS_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def token_matches(expected: str | None, authorization: str | None) -> bool:
    if not expected or not authorization:
        return False
    scheme, _, token = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected.encode())


# -- the kernel's own metrics ------------------------------------------------------------------

HTTP_REQUESTS = counter(
    "http_requests_total", "HTTP requests answered, by route template and status", ["method", "route", "status"]
)
HTTP_LATENCY = histogram(
    "http_request_duration_seconds", "Time to the response's first byte, by route template", ["method", "route"]
)
BACKGROUND_TICKS = counter(
    "background_ticks_total",
    "Background job ticks by outcome: ran here, skipped (not due, or another process ran it), failed",
    ["job", "outcome"],
)
BACKGROUND_ITEMS = counter("background_items_total", "Items background jobs handled (holds released, ...)", ["job"])
BACKGROUND_DURATION = histogram(
    "background_tick_duration_seconds",
    "How long the ticks that ran took",
    ["job"],
    buckets=(0.001, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 120.0),
)
DATABASE_UNAVAILABLE = counter(
    "database_unavailable_total", "Requests answered 503 because the database did not answer"
)

_children: dict[tuple[str, str, int], tuple[Callable[[], None], Callable[[float], None]]] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request (the label children's methods are cached: this runs on every
    request)."""
    key = (method, route, status)
    pair = _children.get(key)
    if pair is None:
        pair = (HTTP_REQUESTS.labels(method, route, str(status)).inc, HTTP_LATENCY.labels(method, route).observe)
        if len(_children) < 10_000:
            _children[key] = pair
    pair[0]()
    pair[1](seconds)


def observe_tick(job: str, outcome: str, seconds: float, items: int) -> None:
    BACKGROUND_TICKS.labels(job, outcome).inc()
    if outcome != "skipped":
        BACKGROUND_DURATION.labels(job).observe(seconds)
    if items:
        BACKGROUND_ITEMS.labels(job).inc(items)
