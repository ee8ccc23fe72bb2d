"""`GET /metrics`: Prometheus text behind a token, by route template, no tenant data; summed
over the workers of one `gateway serve`."""

from __future__ import annotations

import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient
from servers import serving

from gateway.app import create_app

TOKEN = "metrics-token-for-tests-0123456789"


def _value(text: str, name: str, **labels: str) -> float:
    """The value of one series (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            series, _, value = line.rpartition(" ")
            got = series[len(name) :].strip("{}")
            if ",".join(sorted(got.split(","))) == wanted:
                return float(value)
    return 0.0


async def test_metrics_need_the_token_and_count_by_route_template(settings: Any, database: Any, tenant: Any) -> None:
    app = create_app(msgspec.structs.replace(settings, metrics_token=TOKEN), database)
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as client:
        assert (await client.get("/metrics")).status_code == 404
        assert (
            await client.get("/metrics", headers={"Authorization": "Bearer wrong-token-0123456789"})
        ).status_code == 404
        supplier = (await client.post("/v1/suppliers", json={"name": "Metered"}, headers=tenant.op)).json()
        before = (await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})).text
        for _ in range(3):
            assert (await client.get(f"/v1/suppliers/{supplier['id']}", headers=tenant.op)).status_code == 200
        assert (await client.get("/v1/no-such-thing", headers=tenant.op)).status_code == 404
        scraped = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    text = scraped.text
    route = "/v1/suppliers/{supplier_id}"
    labels = {"method": "GET", "route": route, "status": "200"}
    assert (
        _value(text, "gateway_http_requests_total", **labels) - _value(before, "gateway_http_requests_total", **labels)
        == 3
    )
    assert _value(text, "gateway_http_request_duration_seconds_count", method="GET", route=route) >= 3
    assert _value(text, "gateway_http_requests_total", method="GET", route="unmatched", status="404") >= 1
    # no tenant data in any label: no ids, no names
    for secret in (tenant.id, supplier["id"], "Metered", tenant.operator_key[:11]):
        assert secret not in text
    for name in (
        "gateway_orders_placed_total",
        "gateway_orders_refused_total",
        "gateway_stock_races_lost_total",
        "gateway_background_ticks_total",
        "gateway_idempotency_replays_total",
        "gateway_rate_limit_refusals_total",
    ):
        assert f"# TYPE {name} counter" in text, name


@pytest.mark.slow
def test_metrics_sum_every_worker_of_a_server(database_url: str, tmp_path: Path) -> None:
    with serving(database_url, tmp_path, args=("--workers", "2"), GATEWAY_METRICS_TOKEN=TOKEN) as (server,):

        def get(path: str, headers: dict[str, str] | None = None) -> str:
            request = urllib.request.Request(f"{server.base}{path}", headers=headers or {})
            with urllib.request.urlopen(request, timeout=10) as response:  # 127.0.0.1 only
                return response.read().decode()

        with ThreadPoolExecutor(16) as pool:  # concurrent, so that both workers take a share
            list(pool.map(lambda _: get("/healthz"), range(300)))
        scrapes = [get("/metrics", {"Authorization": f"Bearer {TOKEN}"}) for _ in range(8)]
    # the harness's one successful readiness probe plus our 300, whichever worker answered the
    # scrape: a worker reporting only its own share would show about half
    totals = {
        _value(text, "gateway_http_requests_total", method="GET", route="/healthz", status="200") for text in scrapes
    }
    assert totals == {301.0}
