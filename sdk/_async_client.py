"""`AsyncGateway`: the asyncio client. `sdk/_sync_client.py` (`Gateway`) is generated from this
file by `python -m sdk._unasync` (a test fails when it is out of date), and both take every
decision in `sdk._core`: the two cannot drift.

    async with AsyncGateway(api_key="sk_…", base_url="https://gateway.example") as client:
        supplier = await client.suppliers.create(name="Acme")
        async for level in client.inventory.iter_levels(location_id="loc_…"):
            print(level.sku, level.available)
"""

from __future__ import annotations

import time
from asyncio import Lock, sleep
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar

import httpx
import msgspec

from sdk import _core
from sdk._core import Call, Credentials, RetryPolicy, TokenState
from sdk.errors import ConnectionFailed, ValidationFailed
from sdk.models import (
    AdjustItem,
    BatchResult,
    Customer,
    Delivery,
    Destination,
    Event,
    FulfilmentOrder,
    Level,
    Line,
    Listing,
    Location,
    Money,
    Movement,
    Offer,
    Order,
    Page,
    PingResult,
    Quote,
    SetItem,
    Supplier,
    Token,
    WebhookEndpoint,
    _AdjustBody,
    _OrderBody,
    _QuoteBody,
    _SetBody,
)
from sdk.stock import DEFAULT_BATCH_SIZE, BatchReport, SyncReport, plan_batches, report

T = TypeVar("T")


class AsyncGateway:
    """A client of one gateway, with a secret key or an OAuth client.

    Args:
        api_key: a secret key `sk_…` (else `GATEWAY_API_KEY`).
        client_id, client_secret, scope: an OAuth client (else `GATEWAY_CLIENT_ID`,
            `GATEWAY_CLIENT_SECRET`, `GATEWAY_SCOPE`); tokens are fetched from `/oauth/token`
            with client credentials and renewed before they expire, or after a 401.
        base_url: the gateway (else `GATEWAY_URL`, else http://127.0.0.1:8000).
        timeout: seconds per attempt (connect, read, write).
        retry: how often and how long to retry (`RetryPolicy(max_retries=0)` never retries).
        http_client: an `httpx` client of your own (proxies, TLS settings); not closed by us.

    Example:
        >>> client = AsyncGateway(api_key="sk_test", base_url="http://127.0.0.1:8000")
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        scope: str | None = None,
        base_url: str | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = _core.base_url_from_env(base_url)
        self.credentials = Credentials.resolve(api_key, client_id, client_secret, scope)
        self.retry = retry or RetryPolicy()
        self._own_http = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=httpx.Timeout(timeout))
        self._token = TokenState()
        self._token_lock = Lock()
        self.suppliers = AsyncSuppliers(self)
        self.locations = AsyncLocations(self)
        self.offers = AsyncOffers(self)
        self.inventory = AsyncInventory(self)
        self.listings = AsyncListings(self)
        self.quotes = AsyncQuotes(self)
        self.orders = AsyncOrders(self)
        self.fulfilment_orders = AsyncFulfilmentOrders(self)
        self.events = AsyncEvents(self)
        self.webhook_endpoints = AsyncWebhookEndpoints(self)

    async def __aenter__(self) -> AsyncGateway:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    # -- the one request loop ------------------------------------------------------------------

    async def request(self, call: Call[T]) -> T:
        """Send one logical call: retried per `self.retry` with the same `Idempotency-Key`."""
        attempt = 0
        renewed = False
        while True:
            authorization = await self._authorization()
            try:
                response = await self._http.request(
                    call.method,
                    self.base_url + call.path,
                    params=call.params,
                    content=call.body,
                    headers=_core.headers_for(call, authorization),
                )
            except httpx.TransportError as error:  # refused, reset, dropped, timed out
                delay = _core.retry_delay(self.retry, call, attempt, None)
                if delay is None:
                    raise ConnectionFailed(f"{call.method} {call.path}: {type(error).__name__}: {error}") from error
            else:
                status = response.status_code
                if status == 401 and self.credentials.oauth and not renewed:
                    renewed = True  # revoked or expired early: one new token, then the same call
                    self._token.drop()
                    continue
                delay = None
                if status >= 400:
                    delay = _core.retry_delay(self.retry, call, attempt, status, response.headers.get("retry-after"))
                if delay is None:
                    return _core.decode(call, status, response.headers, response.content)
            attempt += 1
            await sleep(delay)

    async def _authorization(self) -> str:
        if self.credentials.api_key is not None:
            return f"Bearer {self.credentials.api_key}"
        async with self._token_lock:
            if not self._token.valid(time.monotonic()):
                token = await self._fetch_token()
                self._token.store(token, time.monotonic())
            return f"Bearer {self._token.access_token}"

    async def _fetch_token(self) -> Token:
        """Client credentials at `/oauth/token` (client_secret_basic), retried like any call."""
        call: Call[Token] = Call("POST", "/oauth/token", Token)
        attempt = 0
        while True:
            try:
                response = await self._http.post(
                    self.base_url + "/oauth/token",
                    data=_core.token_form(self.credentials.scope),
                    auth=(self.credentials.client_id or "", self.credentials.client_secret or ""),
                    headers={"Accept": "application/json", "User-Agent": _core.USER_AGENT},
                )
            except httpx.TransportError as error:
                delay = _core.retry_delay(self.retry, call, attempt, None)
                if delay is None:
                    raise ConnectionFailed(f"POST /oauth/token: {type(error).__name__}: {error}") from error
            else:
                delay = None
                if response.status_code >= 400:
                    delay = _core.retry_delay(
                        self.retry, call, attempt, response.status_code, response.headers.get("retry-after")
                    )
                if delay is None:
                    return _core.decode(call, response.status_code, response.headers, response.content)
            attempt += 1
            await sleep(delay)

    async def paginate(self, call: Call[Page[T]]) -> AsyncIterator[T]:
        """Every item of a list, page after page (`after` = the previous page's cursor)."""
        params = dict(call.params)
        while True:
            page = await self.request(replace(call, params=params))
            for item in page.data:
                yield item
            if not page.has_more or not page.next_cursor:
                return
            params = {**params, "after": page.next_cursor}


class _Resource:
    def __init__(self, client: AsyncGateway) -> None:
        self._client = client


# -- suppliers and locations ---------------------------------------------------------------------


class AsyncSuppliers(_Resource):
    """Suppliers of the tenant (the operator creates them).

    >>> supplier = await client.suppliers.create(name="Acme Foods")  # doctest: +SKIP
    """

    async def create(self, name: str, *, idempotency_key: str | None = None) -> Supplier:
        return await self._client.request(
            _core.post("/v1/suppliers", Supplier, {"name": name}, idempotency_key=idempotency_key)
        )

    async def get(self, supplier_id: str) -> Supplier:
        return await self._client.request(_core.get(f"/v1/suppliers/{supplier_id}", Supplier))

    async def list(
        self, *, status: str | None = None, limit: int | None = None, after: str | None = None
    ) -> Page[Supplier]:
        return await self._client.request(
            _core.get("/v1/suppliers", Page[Supplier], status=status, limit=limit, after=after)
        )

    def iter(self, *, status: str | None = None, limit: int = 200) -> AsyncIterator[Supplier]:
        return self._client.paginate(_core.get("/v1/suppliers", Page[Supplier], status=status, limit=limit))

    async def update(self, supplier_id: str, *, version: int, name: str) -> Supplier:
        return await self._client.request(
            _core.patch(f"/v1/suppliers/{supplier_id}", Supplier, {"version": version, "name": name})
        )

    async def activate(self, supplier_id: str) -> Supplier:
        return await self._client.request(_core.post(f"/v1/suppliers/{supplier_id}/activate", Supplier))

    async def deactivate(self, supplier_id: str) -> Supplier:
        return await self._client.request(_core.post(f"/v1/suppliers/{supplier_id}/deactivate", Supplier))


class AsyncLocations(_Resource):
    """A supplier's stores, warehouses, kitchens and pickup points.

    >>> store = await client.locations.create(  # doctest: +SKIP
    ...     name="Store 1", kind="store", lat=30.27, lng=120.15, service_radius_km=5,
    ...     modes=["delivery", "pickup"], prep_minutes=15)
    """

    async def create(
        self,
        *,
        name: str,
        kind: str,
        lat: float,
        lng: float,
        service_radius_km: float,
        modes: Sequence[str],
        prep_minutes: int,
        supplier_id: str | None = None,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> Location:
        body = {
            "name": name,
            "kind": kind,
            "lat": lat,
            "lng": lng,
            "service_radius_km": service_radius_km,
            "modes": list(modes),
            "prep_minutes": prep_minutes,
            **({"supplier_id": supplier_id} if supplier_id else {}),
            **fields,
        }
        return await self._client.request(_core.post("/v1/locations", Location, body, idempotency_key=idempotency_key))

    async def get(self, location_id: str) -> Location:
        return await self._client.request(_core.get(f"/v1/locations/{location_id}", Location))

    async def list(
        self,
        *,
        supplier_id: str | None = None,
        kind: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> Page[Location]:
        return await self._client.request(
            _core.get(
                "/v1/locations",
                Page[Location],
                supplier_id=supplier_id,
                kind=kind,
                status=status,
                limit=limit,
                after=after,
            )
        )

    def iter(
        self, *, supplier_id: str | None = None, kind: str | None = None, limit: int = 200
    ) -> AsyncIterator[Location]:
        return self._client.paginate(
            _core.get("/v1/locations", Page[Location], supplier_id=supplier_id, kind=kind, limit=limit)
        )

    async def update(self, location_id: str, *, version: int, **fields: Any) -> Location:
        return await self._client.request(
            _core.patch(f"/v1/locations/{location_id}", Location, {"version": version, **fields})
        )

    async def activate(self, location_id: str) -> Location:
        return await self._client.request(_core.post(f"/v1/locations/{location_id}/activate", Location))

    async def deactivate(self, location_id: str) -> Location:
        return await self._client.request(_core.post(f"/v1/locations/{location_id}/deactivate", Location))


# -- offers and listings -------------------------------------------------------------------------


class AsyncOffers(_Resource):
    """A supplier offers a SKU at a wholesale price; it can stock only what it offers.

    >>> await client.offers.create(sku="MILK-1L", wholesale_price=Money(amount=450, currency="CNY"))  # doctest: +SKIP
    """

    async def create(
        self,
        *,
        sku: str,
        wholesale_price: Money,
        supplier_id: str | None = None,
        min_retail_price: Money | None = None,
        idempotency_key: str | None = None,
    ) -> Offer:
        body: dict[str, Any] = {"sku": sku, "wholesale_price": wholesale_price}
        if supplier_id:
            body["supplier_id"] = supplier_id
        if min_retail_price:
            body["min_retail_price"] = min_retail_price
        return await self._client.request(_core.post("/v1/offers", Offer, body, idempotency_key=idempotency_key))

    async def get(self, offer_id: str) -> Offer:
        return await self._client.request(_core.get(f"/v1/offers/{offer_id}", Offer))

    async def list(
        self,
        *,
        sku: str | None = None,
        supplier_id: str | None = None,
        active: bool | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> Page[Offer]:
        return await self._client.request(
            _core.get(
                "/v1/offers", Page[Offer], sku=sku, supplier_id=supplier_id, active=active, limit=limit, after=after
            )
        )

    def iter(self, *, sku: str | None = None, supplier_id: str | None = None, limit: int = 200) -> AsyncIterator[Offer]:
        return self._client.paginate(
            _core.get("/v1/offers", Page[Offer], sku=sku, supplier_id=supplier_id, limit=limit)
        )

    async def update(self, offer_id: str, *, version: int, wholesale_price: Money) -> Offer:
        return await self._client.request(
            _core.patch(f"/v1/offers/{offer_id}", Offer, {"version": version, "wholesale_price": wholesale_price})
        )

    async def activate(self, offer_id: str) -> Offer:
        return await self._client.request(_core.post(f"/v1/offers/{offer_id}/activate", Offer))

    async def deactivate(self, offer_id: str) -> Offer:
        return await self._client.request(_core.post(f"/v1/offers/{offer_id}/deactivate", Offer))


class AsyncListings(_Resource):
    """A channel lists a SKU at its own retail price.

    >>> await client.listings.create(sku="MILK-1L", price=Money(amount=690, currency="CNY"))  # doctest: +SKIP
    """

    async def create(
        self, *, sku: str, price: Money, channel_id: str | None = None, idempotency_key: str | None = None
    ) -> Listing:
        body: dict[str, Any] = {"sku": sku, "price": price}
        if channel_id:
            body["channel_id"] = channel_id
        return await self._client.request(_core.post("/v1/listings", Listing, body, idempotency_key=idempotency_key))

    async def get(self, listing_id: str) -> Listing:
        return await self._client.request(_core.get(f"/v1/listings/{listing_id}", Listing))

    async def list(
        self,
        *,
        sku: str | None = None,
        channel_id: str | None = None,
        active: bool | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> Page[Listing]:
        return await self._client.request(
            _core.get(
                "/v1/listings", Page[Listing], sku=sku, channel_id=channel_id, active=active, limit=limit, after=after
            )
        )

    def iter(
        self, *, sku: str | None = None, channel_id: str | None = None, limit: int = 200
    ) -> AsyncIterator[Listing]:
        return self._client.paginate(
            _core.get("/v1/listings", Page[Listing], sku=sku, channel_id=channel_id, limit=limit)
        )

    async def update(self, listing_id: str, *, version: int, price: Money) -> Listing:
        return await self._client.request(
            _core.patch(f"/v1/listings/{listing_id}", Listing, {"version": version, "price": price})
        )

    async def activate(self, listing_id: str) -> Listing:
        return await self._client.request(_core.post(f"/v1/listings/{listing_id}/activate", Listing))

    async def deactivate(self, listing_id: str) -> Listing:
        return await self._client.request(_core.post(f"/v1/listings/{listing_id}/deactivate", Listing))


# -- inventory -----------------------------------------------------------------------------------


class AsyncInventory(_Resource):
    """Stock levels and movements; `set` and `adjust` in batches; `sync` for any number of rows.

    >>> report = await client.inventory.sync([  # doctest: +SKIP
    ...     {"location_id": "loc_…", "sku": "MILK-1L", "on_hand": 40},
    ... ])
    >>> report.applied, report.unchanged, report.refused  # doctest: +SKIP
    (1, 0, 0)
    """

    async def set(self, items: Sequence[SetItem], *, idempotency_key: str | None = None) -> BatchResult:
        """Up to 10,000 absolute counts, each with its `sequence`; a result per item."""
        return await self._client.request(
            _core.post("/v1/inventory/set", BatchResult, _SetBody(items=list(items)), idempotency_key=idempotency_key)
        )

    async def adjust(self, items: Sequence[AdjustItem], *, idempotency_key: str | None = None) -> BatchResult:
        """Up to 10,000 deltas with a reason; each applied once across retries (the key)."""
        return await self._client.request(
            _core.post(
                "/v1/inventory/adjust", BatchResult, _AdjustBody(items=list(items)), idempotency_key=idempotency_key
            )
        )

    async def levels(
        self,
        *,
        location_id: str | None = None,
        sku: str | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> Page[Level]:
        return await self._client.request(
            _core.get("/v1/inventory/levels", Page[Level], location_id=location_id, sku=sku, limit=limit, after=after)
        )

    def iter_levels(
        self, *, location_id: str | None = None, sku: str | None = None, limit: int = 200
    ) -> AsyncIterator[Level]:
        """Every level (of a location, of a sku), streamed page by page."""
        return self._client.paginate(
            _core.get("/v1/inventory/levels", Page[Level], location_id=location_id, sku=sku, limit=limit)
        )

    async def movements(
        self,
        *,
        location_id: str | None = None,
        sku: str | None = None,
        reason: str | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> Page[Movement]:
        return await self._client.request(
            _core.get(
                "/v1/inventory/movements",
                Page[Movement],
                location_id=location_id,
                sku=sku,
                reason=reason,
                limit=limit,
                after=after,
            )
        )

    def iter_movements(
        self, *, location_id: str | None = None, sku: str | None = None, reason: str | None = None, limit: int = 200
    ) -> AsyncIterator[Movement]:
        return self._client.paginate(
            _core.get(
                "/v1/inventory/movements", Page[Movement], location_id=location_id, sku=sku, reason=reason, limit=limit
            )
        )

    async def iter_sync(
        self,
        rows: Iterable[SetItem | Mapping[str, Any]],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        sequence_base: int | None = None,
    ) -> AsyncIterator[BatchReport]:
        """`sync`, one report per batch as it completes (for progress bars and huge inputs).

        Rows are dicts or `SetItem`s with `location_id`, `sku`, `on_hand` and optionally
        `sequence` and `safety_stock`; a row without a sequence gets `sequence_base + row`
        (by default microseconds since the epoch), so each push is newer than the last and
        a later row for the same level wins. Each batch keeps one `Idempotency-Key` across
        its retries: a retried batch is applied once.
        """
        for batch in plan_batches(rows, batch_size, sequence_base):
            if not batch.items:
                yield report(batch, None)
                continue
            try:
                answer = await self.set(batch.items)
            except ValidationFailed as problem:  # should not happen: the rows were checked here
                yield report(batch, None, ("invalid_batch", problem.detail or problem.title))
                continue
            yield report(batch, answer)

    async def sync(
        self,
        rows: Iterable[SetItem | Mapping[str, Any]],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        sequence_base: int | None = None,
    ) -> SyncReport:
        """Push any number of counted levels; `applied`/`unchanged`/`refused` per row.

        Raises `ConnectionFailed` or an `APIError` when a batch cannot be sent after the
        retries; batches before it stay applied, and pushing the same rows again is safe
        (counts are absolute, the new push's sequences are newer).
        """
        total = SyncReport()
        async for batch in self.iter_sync(rows, batch_size=batch_size, sequence_base=sequence_base):
            total.add(batch)
        return total.finish()


# -- quotes, orders, fulfilment ------------------------------------------------------------------


class AsyncQuotes(_Resource):
    """Price and route lines, holding the stock until `expires_at`.

    >>> quote = await client.quotes.create(lines=[Line(sku="MILK-1L", qty=2)],  # doctest: +SKIP
    ...                                    destination=Destination(lat=30.26, lng=120.16))
    """

    async def create(
        self,
        *,
        lines: Sequence[Line],
        destination: Destination | None = None,
        mode: str | None = None,
        pickup_point_id: str | None = None,
        channel_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Quote:
        body = _QuoteBody(
            lines=list(lines),
            destination=destination,
            mode=mode,
            pickup_point_id=pickup_point_id,
            channel_id=channel_id,
        )
        return await self._client.request(_core.post("/v1/quotes", Quote, body, idempotency_key=idempotency_key))

    async def get(self, quote_id: str) -> Quote:
        return await self._client.request(_core.get(f"/v1/quotes/{quote_id}", Quote))

    async def release(self, quote_id: str) -> Quote:
        return await self._client.request(_core.post(f"/v1/quotes/{quote_id}/release", Quote))


class AsyncOrders(_Resource):
    """Orders of a channel: from a quote, or from lines and a destination directly.

    >>> order = await client.orders.create(quote_id=quote.id, reference="A-1001")  # doctest: +SKIP
    >>> [f.status for f in order.fulfilment_orders]  # doctest: +SKIP
    ['pending']
    """

    async def create(
        self,
        *,
        quote_id: str | None = None,
        lines: Sequence[Line] | None = None,
        destination: Destination | None = None,
        mode: str | None = None,
        pickup_point_id: str | None = None,
        channel_id: str | None = None,
        customer: Customer | None = None,
        reference: str | None = None,
        cart_id: str | None = None,
        client_secret: str | None = None,
        idempotency_key: str | None = None,
    ) -> Order:
        """Place an order. Pass `idempotency_key` (your order number, say) to make a retry
        after a crash on your side return the same order; the SDK's own retries always do."""
        body = _OrderBody(
            quote_id=quote_id,
            lines=list(lines) if lines is not None else None,
            destination=destination,
            mode=mode,
            pickup_point_id=pickup_point_id,
            channel_id=channel_id,
            customer=customer,
            reference=reference,
            cart_id=cart_id,
            client_secret=client_secret,
        )
        return await self._client.request(_core.post("/v1/orders", Order, body, idempotency_key=idempotency_key))

    async def get(self, order_id: str) -> Order:
        return await self._client.request(_core.get(f"/v1/orders/{order_id}", Order))

    async def list(
        self,
        *,
        status: str | None = None,
        channel_id: str | None = None,
        reference: str | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> Page[Order]:
        return await self._client.request(
            _core.get(
                "/v1/orders",
                Page[Order],
                status=status,
                channel_id=channel_id,
                reference=reference,
                limit=limit,
                after=after,
            )
        )

    def iter(
        self, *, status: str | None = None, reference: str | None = None, limit: int = 200
    ) -> AsyncIterator[Order]:
        return self._client.paginate(
            _core.get("/v1/orders", Page[Order], status=status, reference=reference, limit=limit)
        )

    async def cancel(self, order_id: str) -> Order:
        return await self._client.request(_core.post(f"/v1/orders/{order_id}/cancel", Order))


class AsyncFulfilmentOrders(_Resource):
    """A supplier's share of orders: accept, pick, ship (or ready for pickup), deliver.

    >>> async for job in client.fulfilment_orders.iter(status="pending"):  # doctest: +SKIP
    ...     await client.fulfilment_orders.accept(job.id)
    """

    async def get(self, fulfilment_id: str) -> FulfilmentOrder:
        return await self._client.request(_core.get(f"/v1/fulfilment-orders/{fulfilment_id}", FulfilmentOrder))

    async def list(
        self,
        *,
        status: str | None = None,
        location_id: str | None = None,
        order_id: str | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> Page[FulfilmentOrder]:
        return await self._client.request(
            _core.get(
                "/v1/fulfilment-orders",
                Page[FulfilmentOrder],
                status=status,
                location_id=location_id,
                order_id=order_id,
                limit=limit,
                after=after,
            )
        )

    def iter(
        self,
        *,
        status: str | None = None,
        location_id: str | None = None,
        order_id: str | None = None,
        limit: int = 200,
    ) -> AsyncIterator[FulfilmentOrder]:
        return self._client.paginate(
            _core.get(
                "/v1/fulfilment-orders",
                Page[FulfilmentOrder],
                status=status,
                location_id=location_id,
                order_id=order_id,
                limit=limit,
            )
        )

    async def _act(self, fulfilment_id: str, action: str, body: Any = None) -> FulfilmentOrder:
        return await self._client.request(
            _core.post(f"/v1/fulfilment-orders/{fulfilment_id}/{action}", FulfilmentOrder, body)
        )

    async def accept(self, fulfilment_id: str) -> FulfilmentOrder:
        return await self._act(fulfilment_id, "accept")

    async def reject(self, fulfilment_id: str, reason: str) -> FulfilmentOrder:
        """Refuse it: the gateway re-routes its lines to the next location."""
        return await self._act(fulfilment_id, "reject", {"reason": reason})

    async def pick(self, fulfilment_id: str) -> FulfilmentOrder:
        return await self._act(fulfilment_id, "pick")

    async def ship(self, fulfilment_id: str) -> FulfilmentOrder:
        return await self._act(fulfilment_id, "ship")

    async def ready_for_pickup(self, fulfilment_id: str) -> FulfilmentOrder:
        return await self._act(fulfilment_id, "ready-for-pickup")

    async def deliver(self, fulfilment_id: str) -> FulfilmentOrder:
        return await self._act(fulfilment_id, "deliver")


# -- events and webhooks -------------------------------------------------------------------------


class AsyncEvents(_Resource):
    """The event feed: the source of truth behind webhooks.

    >>> async for event in client.events.iter(after=last_seen):  # doctest: +SKIP
    ...     handle(event)
    """

    async def get(self, event_id: str) -> Event:
        return await self._client.request(_core.get(f"/v1/events/{event_id}", Event))

    async def list(self, *, type: str | None = None, limit: int | None = None, after: str | None = None) -> Page[Event]:
        return await self._client.request(_core.get("/v1/events", Page[Event], type=type, limit=limit, after=after))

    def iter(self, *, after: str | None = None, type: str | None = None, limit: int = 200) -> AsyncIterator[Event]:
        """Every event after `after` (the oldest first) up to now."""
        return self._client.paginate(_core.get("/v1/events", Page[Event], type=type, limit=limit, after=after))

    async def tail(
        self,
        *,
        after: str | None = None,
        type: str | None = None,
        poll_interval: float = 2.0,
        stop_when_idle: bool = False,
    ) -> AsyncIterator[Event]:
        """Follow the feed: every event after `after`, then new ones as they come (polling).
        With `stop_when_idle`, stop at the first poll that finds nothing new."""
        cursor = after
        while True:
            found = False
            async for event in self.iter(after=cursor, type=type):
                found = True
                cursor = event.id
                yield event
            if not found and stop_when_idle:
                return
            if not found:
                await sleep(poll_interval)

    async def redeliver(self, event_id: str) -> None:
        await self._client.request(_core.post(f"/v1/events/{event_id}/redeliver", None))


class AsyncWebhookEndpoints(_Resource):
    """Where events are delivered (Standard Webhooks). The `secret` is in the answer of
    `create` and `rotate_secret` only: keep it for `verify_webhook`.

    >>> endpoint = await client.webhook_endpoints.create(  # doctest: +SKIP
    ...     url="https://erp.example/hooks/gateway", events=["fulfilment_order.*"])
    """

    async def create(
        self,
        *,
        url: str,
        events: Sequence[str],
        description: str | None = None,
        owner: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> WebhookEndpoint:
        body: dict[str, Any] = {"url": url, "events": list(events)}
        if description is not None:
            body["description"] = description
        if owner is not None:
            body["owner"] = dict(owner)
        return await self._client.request(
            _core.post("/v1/webhook-endpoints", WebhookEndpoint, body, idempotency_key=idempotency_key)
        )

    async def get(self, endpoint_id: str) -> WebhookEndpoint:
        return await self._client.request(_core.get(f"/v1/webhook-endpoints/{endpoint_id}", WebhookEndpoint))

    async def list(
        self, *, status: str | None = None, limit: int | None = None, after: str | None = None
    ) -> Page[WebhookEndpoint]:
        return await self._client.request(
            _core.get("/v1/webhook-endpoints", Page[WebhookEndpoint], status=status, limit=limit, after=after)
        )

    def iter(self, *, status: str | None = None, limit: int = 200) -> AsyncIterator[WebhookEndpoint]:
        return self._client.paginate(
            _core.get("/v1/webhook-endpoints", Page[WebhookEndpoint], status=status, limit=limit)
        )

    async def update(self, endpoint_id: str, *, version: int, **fields: Any) -> WebhookEndpoint:
        return await self._client.request(
            _core.patch(f"/v1/webhook-endpoints/{endpoint_id}", WebhookEndpoint, {"version": version, **fields})
        )

    async def delete(self, endpoint_id: str) -> None:
        await self._client.request(_core.delete(f"/v1/webhook-endpoints/{endpoint_id}"))

    async def enable(self, endpoint_id: str) -> WebhookEndpoint:
        return await self._client.request(_core.post(f"/v1/webhook-endpoints/{endpoint_id}/enable", WebhookEndpoint))

    async def disable(self, endpoint_id: str) -> WebhookEndpoint:
        return await self._client.request(_core.post(f"/v1/webhook-endpoints/{endpoint_id}/disable", WebhookEndpoint))

    async def rotate_secret(self, endpoint_id: str) -> WebhookEndpoint:
        """A new secret (in the answer); the old one stays valid for 24 hours."""
        return await self._client.request(
            _core.post(f"/v1/webhook-endpoints/{endpoint_id}/rotate-secret", WebhookEndpoint)
        )

    async def ping(self, endpoint_id: str) -> PingResult:
        """Send a signed `webhook_endpoint.ping` now: a quick check of the URL and of your
        verification (not a feed event, not retried)."""
        return await self._client.request(_core.post(f"/v1/webhook-endpoints/{endpoint_id}/ping", PingResult))

    def iter_deliveries(
        self, endpoint_id: str, *, status: str | None = None, limit: int = 200
    ) -> AsyncIterator[Delivery]:
        return self._client.paginate(
            _core.get(f"/v1/webhook-endpoints/{endpoint_id}/deliveries", Page[Delivery], status=status, limit=limit)
        )


def encode(value: Any) -> bytes:
    """JSON of any SDK struct (for printing and storing)."""
    return msgspec.json.encode(value)
