"""The widget in real headless Chromium (Debian's `chromium`, driven by Playwright; never a
downloaded browser), against a real `gateway serve` on 127.0.0.1 (DESIGN §13):

- the demo partner page (served by the gateway) finds a Hangzhou shopper's location, lists
  products with promises, takes two items, checks out, and the order exists with those lines
  and its fulfilment;
- the same page on another origin the key allows (a partner's own server, its own backend
  placing the order with the channel's secret key): real CORS, preflights included, in Chinese;
- the same page on an origin the key does not allow: a clear error, and no cart.

Screenshots of every step go to `test-artifacts/widget/` (GATEWAY_TEST_ARTIFACTS to move it).
Without a browser the tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import urllib.request
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from servers import Server, free_port

from gateway.demo import build_demo
from gateway.storage import db

pytestmark = pytest.mark.slow

ARTIFACTS = Path(os.environ.get("GATEWAY_TEST_ARTIFACTS", Path(__file__).resolve().parent.parent / "test-artifacts"))
#: what Chromium needs here: no sandbox as root, and nothing that phones out of a closed network
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HANGZHOU = {"latitude": 30.2600, "longitude": 120.1600}  # by West Lake, among the demo's stores
PROMISE = re.compile(r"^(\d+ min|today \d{1,2}(:\d\d)? [ap]m|tomorrow( .+)?|\w{3}, \w{3} \d{1,2}|Out of stock)$")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the browser tests cannot run and CI=true: {reason}")
    pytest.skip(reason)


def chromium_path() -> str:
    path = os.environ.get("GATEWAY_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        _unavailable("Debian's chromium is not installed (python3 bootstrap.py test installs it)")
    return str(path)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _unavailable("playwright is not installed")
    path = chromium_path()
    async with async_playwright() as playwright:
        try:
            launched = await playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        except Exception as error:
            _unavailable(f"Chromium at {path} does not start: {error}")
        yield launched
        await launched.close()


class Partner:
    """A partner's own web server on another origin: it serves the very demo page the gateway
    serves (fetched from it), and its backend places the order with the channel's secret key,
    as a partner's server does (`POST /v1/orders {"cart_id", "client_secret", "customer"}`)."""

    def __init__(self, host: str, gateway: str, secret_key: str) -> None:
        self.port = free_port()
        self.origin = f"http://{host}:{self.port}"
        self.gateway = gateway
        self.secret_key = secret_key
        self.orders: list[dict[str, Any]] = []
        partner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if not self.path.startswith("/demo/shop"):
                    self.send_error(404)
                    return
                query = self.path.partition("?")[2]
                with urllib.request.urlopen(f"{partner.gateway}/demo/shop?{query}", timeout=10) as page:
                    body = page.read()
                self._send(200, "text/html; charset=utf-8", body)

            def do_POST(self) -> None:
                if self.path != "/demo/shop/checkout":
                    self.send_error(404)
                    return
                sent = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                response = httpx.post(
                    f"{partner.gateway}/v1/orders",
                    json=sent,
                    headers={"Authorization": f"Bearer {partner.secret_key}", "Idempotency-Key": sent["cart_id"]},
                    timeout=30,
                )
                if response.status_code == 201:
                    partner.orders.append(response.json())
                self._send(response.status_code, "application/json", response.content)

            def _send(self, status: int, media_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", media_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class World:
    def __init__(self, server: Server, demo: dict[str, Any], allowed: Partner, refused: Partner) -> None:
        self.server = server
        self.demo = demo
        self.allowed = allowed
        self.refused = refused

    async def carts(self) -> int:
        rows = await db().fetch(
            "SELECT COUNT(*) AS n FROM storefront_carts WHERE tenant_id = ?", self.demo["tenant"]["id"]
        )
        return int(rows[0]["n"])

    def order(self, order_id: str) -> dict[str, Any]:
        response = httpx.get(
            f"{self.server.base}/v1/orders/{order_id}",
            headers={"Authorization": f"Bearer {self.demo['channel']['secret_key']}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
async def world(database_url: str, database: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    server = Server(database_url, tmp_path_factory.mktemp("widget") / "server.log")
    allowed: Partner | None = None
    refused: Partner | None = None
    try:
        # the partner's server is on 127.0.0.1 (allowed); the "same page elsewhere" on localhost
        allowed = Partner("127.0.0.1", server.base, "")
        refused = Partner("localhost", server.base, "")
        demo = await build_demo(origins=[server.base, allowed.origin])
        allowed.secret_key = refused.secret_key = demo["channel"]["secret_key"]
        yield World(server, demo, allowed, refused)
    finally:
        for partner in (allowed, refused):
            if partner is not None:
                partner.stop()
        server.stop()


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Iterator[Any]:
    folder = ARTIFACTS / "widget" / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    count = [0]

    async def shot(page: Any, name: str) -> None:
        count[0] += 1
        await page.screenshot(path=str(folder / f"{count[0]:02d}-{name}.png"), full_page=True)

    yield shot


async def new_page(browser: Any, locale: str = "en-US") -> tuple[Any, Any, list[str]]:
    context = await browser.new_context(
        geolocation=HANGZHOU,
        permissions=["geolocation"],
        locale=locale,
        timezone_id="Asia/Shanghai",
        viewport={"width": 900, "height": 1200},
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return context, page, errors


async def test_the_demo_shop_sells_two_items_to_a_shopper_in_hangzhou(browser: Any, world: World, shots: Any) -> None:
    context, page, errors = await new_page(browser)
    try:
        await page.goto(f"{world.server.base}/demo/shop")
        await page.wait_for_selector("gateway-shop li.product")
        await shots(page, "loaded")

        await page.get_by_role("button", name="Use my location").click()
        await page.wait_for_selector("gateway-shop .promise:not(:empty)")
        await page.wait_for_function(
            "document.querySelector('gateway-shop').shadowRoot.querySelector('#where').textContent.includes('30.2600')"
        )
        promises = await page.locator("gateway-shop li.product .promise").all_inner_texts()
        assert promises and all(PROMISE.match(text) for text in promises), promises
        await shots(page, "hangzhou-products")

        addable = page.locator("gateway-shop li.product:has(button.add:not([disabled]))")
        assert await addable.count() >= 2
        first, second = addable.nth(0), addable.nth(1)
        skus = [await first.get_attribute("data-sku"), await second.get_attribute("data-sku")]
        await first.locator("button.add").click()
        # the second by keyboard: the button is focusable and Enter adds
        await second.locator("button.add").focus()
        await page.keyboard.press("Enter")
        lines = page.locator("gateway-shop li.line")
        await lines.nth(1).wait_for()
        assert sorted([await lines.nth(i).get_attribute("data-sku") for i in range(2)]) == sorted(skus)
        await shots(page, "cart")

        await page.get_by_role("button", name="Check out").click()
        await page.wait_for_selector("#result.ok", timeout=20_000)
        await shots(page, "ordered")
        order_id = await page.get_attribute("#result", "data-order-id")
        assert order_id and order_id.startswith("ord_")

        order = world.order(order_id)
        assert sorted((line["sku"], line["qty"]) for line in order["lines"]) == sorted((sku, 1) for sku in skus)
        assert order["fulfilment_orders"], order
        shipped = sorted(line["sku"] for f in order["fulfilment_orders"] for line in f["lines"])
        assert shipped == sorted(skus)
        assert all(f["status"] == "pending" and f["location_id"].startswith("loc_") for f in order["fulfilment_orders"])
        assert order["customer"]["name"] == "Li Lei" and order["mode"] == "delivery"
        assert abs(order["destination"]["lat"] - HANGZHOU["latitude"]) < 1e-6
        assert errors == []
    finally:
        await context.close()


async def test_on_another_allowed_origin_the_page_works_through_cors(browser: Any, world: World, shots: Any) -> None:
    """The partner's own origin: every call is cross-origin, with real preflights, in Chinese;
    the location typed in by keyboard; the order placed by the partner's own server."""
    context, page, errors = await new_page(browser, locale="zh-CN")
    try:
        await page.goto(f"{world.allowed.origin}/demo/shop?lang=zh-CN")
        await page.wait_for_selector("gateway-shop li.product")
        assert await page.get_by_role("button", name="使用我的位置").is_visible()
        await page.locator("gateway-shop summary").click()
        await page.get_by_label("纬度").fill("30.2741")  # by Wulin Square
        await page.get_by_label("经度").fill("120.1635")
        await page.get_by_label("经度").press("Enter")
        await page.wait_for_selector("gateway-shop .promise:not(:empty)")
        await shots(page, "zh-products")
        button = page.locator("gateway-shop button.add:not([disabled])").first
        await button.click()
        await page.get_by_role("button", name="去结算").click()
        await page.wait_for_selector("#result.ok", timeout=20_000)
        await shots(page, "zh-ordered")
        assert len(world.allowed.orders) == 1 and world.allowed.orders[0]["fulfilment_orders"]
        assert errors == []
    finally:
        await context.close()


async def test_on_an_origin_the_key_does_not_allow_the_page_says_so_and_holds_nothing(
    browser: Any, world: World, shots: Any
) -> None:
    before = await world.carts()
    context, page, _ = await new_page(browser)
    try:
        await page.goto(f"{world.refused.origin}/demo/shop")
        alert = page.locator("gateway-shop #error")
        await alert.wait_for(state="visible")
        text = await alert.inner_text()
        assert world.refused.origin in text and "not one of the allowed origins" in text, text
        await shots(page, "refused")
        await page.get_by_role("button", name="Use my location").click()
        await page.wait_for_timeout(1500)
        assert await alert.is_visible()
        assert await page.locator("gateway-shop li.product").count() == 0
        await shots(page, "still-refused")
    finally:
        await context.close()
    assert await world.carts() == before
    assert world.refused.orders == []
