"""CORS and the publishable key's origin rule, as a browser sends them (preflights carry no
credential; a same-origin GET carries no Origin). The same rules in real Chromium:
tests/test_widget_browser.py."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from litestar import Litestar
from storefront_world import ORIGIN, Shop, app_settings, make_shop, publishable_key

OTHER = "https://evil.example"


@pytest.fixture
async def shop(tenant: Any) -> Shop:
    return await make_shop(tenant)


def preflight(origin: str, method: str = "GET", headers: str = "authorization") -> dict[str, str]:
    return {"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers}


async def test_preflight_of_a_storefront_path_from_an_allowed_origin(shop: Shop) -> None:
    response = await shop.tenant.client.options(
        "/v1/storefront/products", headers=preflight(ORIGIN, headers="authorization, x-request-id")
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "GET" in response.headers["access-control-allow-methods"]
    assert "authorization" in response.headers["access-control-allow-headers"]
    assert int(response.headers["access-control-max-age"]) > 0
    assert "Origin" in response.headers["vary"]
    cart = await shop.tenant.client.options(
        "/v1/storefront/carts", headers=preflight(ORIGIN, "POST", "authorization,content-type,idempotency-key")
    )
    assert cart.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in cart.headers["access-control-allow-methods"]


async def test_preflight_from_another_origin_or_to_another_path_gets_no_cors(shop: Shop) -> None:
    for path, origin, method in (
        ("/v1/storefront/products", OTHER, "GET"),  # no key allows it
        ("/v1/orders", ORIGIN, "POST"),  # allowed origin, not a storefront operation
        ("/v1/storefront/carts", ORIGIN, "DELETE"),  # a method the path does not serve a key
    ):
        response = await shop.tenant.client.options(path, headers=preflight(origin, method))
        assert "access-control-allow-origin" not in response.headers, (path, origin)
    asks_more = await shop.tenant.client.options(
        "/v1/storefront/products", headers=preflight(ORIGIN, headers="authorization, x-secret-header")
    )
    assert "access-control-allow-origin" not in asks_more.headers


async def test_actual_request_from_the_allowed_origin_may_read_the_answer_and_its_headers(shop: Shop) -> None:
    response = await shop.get("/v1/storefront/products")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    assert {"x-request-id", "ratelimit", "ratelimit-policy", "retry-after"} <= exposed
    assert "Origin" in response.headers["vary"]


async def test_a_publishable_key_from_another_origin_is_refused_without_cors(shop: Shop) -> None:
    response = await shop.get("/v1/storefront/products", origin=OTHER)
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("origin-not-allowed") and OTHER in response.json()["detail"]
    assert "access-control-allow-origin" not in response.headers
    assert not (
        await shop.post("/v1/storefront/carts", {"lines": [{"sku": "TEA-1", "qty": 1}]}, origin=OTHER)
    ).is_success


async def test_a_publishable_key_from_no_page_is_refused(shop: Shop) -> None:
    response = await shop.tenant.client.get("/v1/storefront/products", headers={"Authorization": f"Bearer {shop.pk}"})
    assert response.status_code == 403 and "names no Origin" in response.json()["detail"]


async def test_a_same_origin_get_is_judged_by_its_host(shop: Shop, tenant: Any) -> None:
    """A page served by the host it calls sends no Origin on GET, only Sec-Fetch-Site."""
    pk, _ = await publishable_key(tenant, shop.city.channel["id"], ["http://testserver.local:8080"])
    headers = {"Authorization": f"Bearer {pk}", "Sec-Fetch-Site": "same-origin", "Host": "testserver.local:8080"}
    assert (await tenant.client.get("/v1/storefront/products", headers=headers)).status_code == 200
    headers["Host"] = "elsewhere.local:8080"
    assert (await tenant.client.get("/v1/storefront/products", headers=headers)).status_code == 403


async def test_a_publishable_key_on_a_non_storefront_operation_is_refused(shop: Shop) -> None:
    for method, path in (("GET", "/v1/orders"), ("GET", "/v1/storefront/carts"), ("POST", "/v1/quotes")):
        response = await shop.tenant.client.request(
            method, path, headers=shop.browser(), json={} if method == "POST" else None
        )
        assert response.status_code == 403, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert "access-control-allow-origin" not in response.headers, path


async def test_a_secret_key_never_gets_cors_answers(shop: Shop) -> None:
    response = await shop.tenant.client.get(
        "/v1/storefront/products", headers={"Authorization": f"Bearer {shop.city.channel_key}", "Origin": ORIGIN}
    )
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


async def test_an_error_from_an_allowed_origin_is_readable(shop: Shop) -> None:
    """A revoked key, seen from a page some key allows: the page can show why."""
    response = await shop.tenant.client.get(
        "/v1/storefront/products", headers={"Authorization": "Bearer pk_" + "x" * 32, "Origin": ORIGIN}
    )
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == ORIGIN


async def test_origins_are_validated_and_only_publishable_keys_name_them(shop: Shop) -> None:
    owner = {"type": "channel", "id": shop.city.channel["id"]}
    for bad in ("https://shop.example/path", "shop.example", "https://Shop.Example", "*"):
        response = await shop.tenant.call(
            "POST", "/v1/api-keys", json={"owner": owner, "kind": "publishable", "allowed_origins": [bad]}
        )
        assert response.status_code == 400, bad
    secret = await shop.tenant.call(
        "POST", "/v1/api-keys", json={"owner": owner, "kind": "secret", "allowed_origins": [ORIGIN]}
    )
    assert secret.status_code == 409 and secret.json()["errors"][0]["field"] == "allowed_origins"
    # changing the origins takes effect at once
    key = (await shop.tenant.call("GET", f"/v1/api-keys/{shop.pk_id}")).json()
    assert key["allowed_origins"] == [ORIGIN]
    moved = await shop.tenant.call(
        "PATCH", f"/v1/api-keys/{shop.pk_id}", json={"version": key["version"], "allowed_origins": [OTHER]}
    )
    assert moved.status_code == 200 and moved.json()["allowed_origins"] == [OTHER]
    assert (await shop.get("/v1/storefront/products")).status_code == 403
    assert (await shop.get("/v1/storefront/products", origin=OTHER)).status_code == 200


async def test_localhost_wildcards_only_while_the_setting_allows_them(shop: Shop, app: Litestar) -> None:
    owner = {"type": "channel", "id": shop.city.channel["id"]}
    body = {"owner": owner, "kind": "publishable", "allowed_origins": ["http://localhost:*"]}
    refused = await shop.tenant.call("POST", "/v1/api-keys", json=body)
    assert refused.status_code == 409 and refused.json()["errors"][0]["field"] == "allowed_origins[0]"
    port = 20000 + secrets.randbelow(40000)
    dev = f"http://localhost:{port}"
    with app_settings(app, storefront_allow_localhost=True):
        created = await shop.tenant.call("POST", "/v1/api-keys", json=body)
        assert created.status_code == 201, created.text
        pk = created.json()["key"]
        ok = await shop.tenant.client.get(
            "/v1/storefront/products", headers={"Authorization": f"Bearer {pk}", "Origin": dev}
        )
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == dev
        pre = await shop.tenant.client.options("/v1/storefront/products", headers=preflight(dev))
        assert pre.headers.get("access-control-allow-origin") == dev
        elsewhere = await shop.tenant.client.get(
            "/v1/storefront/products",
            headers={"Authorization": f"Bearer {pk}", "Origin": f"http://evil.localhost:{port}"},
        )
        assert elsewhere.status_code == 403
    # the setting off again: the wildcard no longer lets anything in
    off = await shop.tenant.client.get(
        "/v1/storefront/products", headers={"Authorization": f"Bearer {pk}", "Origin": dev}
    )
    assert off.status_code == 403
