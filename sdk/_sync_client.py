"""`Gateway`: the blocking client, GENERATED from `sdk/_async_client.py` by
`python -m sdk._unasync`: edit that file, not this one.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from threading import Lock
from time import sleep
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


class Gateway:
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
        >>> client = Gateway(api_key="sk_test", base_url="http://127.0.0.1:8000")
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
        http_client: httpx.Client | None = None,
    ) -> None:
        self.base_url = _core.base_url_from_env(base_url)
        self.credentials = Credentials.resolve(api_key, client_id, client_secret, scope)
        self.retry = retry or RetryPolicy()
        self._own_http = http_client is None
        self._http = http_client or httpx.Client(timeout=httpx.Timeout(timeout))
        self._token = TokenState()
        self._token_lock = Lock()
        self.suppliers = Suppliers(self)
        self.locations = Locations(self)
        self.offers = Offers(self)
        self.inventory = Inventory(self)
        self.listings = Listings(self)
        self.quotes = Quotes(self)
        self.orders = Orders(self)
        self.fulfilment_orders = FulfilmentOrders(self)
        self.events = Events(self)
        self.webhook_endpoints = WebhookEndpoints(self)

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._own_http:
            self._http.close()

    # -- the one request loop ------------------------------------------------------------------

    def request(self, call: Call[T]) -> T:
        """Send one logical call: retried per `self.retry` with the same `Idempotency-Key`."""
        attempt = 0
        renewed = False
        while True:
            authorization = self._authorization()
            try:
                response = self._http.request(
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
            sleep(delay)

    def _authorization(self) -> str:
        if self.credentials.api_key is not None:
            return f"Bearer {self.credentials.api_key}"
        with self._token_lock:
            if not self._token.valid(time.monotonic()):
                token = self._fetch_token()
                self._token.store(token, time.monotonic())
            return f"Bearer {self._token.access_token}"

    def _fetch_token(self) -> Token:
        """Client credentials at `/oauth/token` (client_secret_basic), retried like any call."""
        call: Call[Token] = Call("POST", "/oauth/token", Token)
        attempt = 0
        while True:
            try:
                response = self._http.post(
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
            sleep(delay)

    def paginate(self, call: Call[Page[T]]) -> Iterator[T]:
        """Every item of a list, page after page (`after` = the previous page's cursor)."""
        params = dict(call.params)
        while True:
            page = self.request(replace(call, params=params))
            yield from page.data
            if not page.has_more or not page.next_cursor:
                return
            params = {**params, "after": page.next_cursor}


class _Resource:
    def __init__(self, client: Gateway) -> None:
        self._client = client


# -- suppliers and locations ---------------------------------------------------------------------


class Suppliers(_Resource):
    """Suppliers of the tenant (the operator creates them).

    >>> supplier = client.suppliers.create(name="Acme Foods")  # doctest: +SKIP
    """

    def create(self, name: str, *, idempotency_key: str | None = None) -> Supplier:
        return self._client.request(
            _core.post("/v1/suppliers", Supplier, {"name": name}, idempotency_key=idempotency_key)
        )

    def get(self, supplier_id: str) -> Supplier:
        return self._client.request(_core.get(f"/v1/suppliers/{supplier_id}", Supplier))

    def list(self, *, status: str | None = None, limit: int | None = None, after: str | None = None) -> Page[Supplier]:
        return self._client.request(_core.get("/v1/suppliers", Page[Supplier], status=status, limit=limit, after=after))

    def iter(self, *, status: str | None = None, limit: int = 200) -> Iterator[Supplier]:
        return self._client.paginate(_core.get("/v1/suppliers", Page[Supplier], status=status, limit=limit))

    def update(self, supplier_id: str, *, version: int, name: str) -> Supplier:
        return self._client.request(
            _core.patch(f"/v1/suppliers/{supplier_id}", Supplier, {"version": version, "name": name})
        )

    def activate(self, supplier_id: str) -> Supplier:
        return self._client.request(_core.post(f"/v1/suppliers/{supplier_id}/activate", Supplier))

    def deactivate(self, supplier_id: str) -> Supplier:
        return self._client.request(_core.post(f"/v1/suppliers/{supplier_id}/deactivate", Supplier))


class Locations(_Resource):
    """A supplier's stores, warehouses, kitchens and pickup points.

    >>> store = client.locations.create(  # doctest: +SKIP
    ...     name="Store 1", kind="store", lat=30.27, lng=120.15, service_radius_km=5,
    ...     modes=["delivery", "pickup"], prep_minutes=15)
    """

    def create(
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
        return self._client.request(_core.post("/v1/locations", Location, body, idempotency_key=idempotency_key))

    def get(self, location_id: str) -> Location:
        return self._client.request(_core.get(f"/v1/locations/{location_id}", Location))

    def list(
        self,
        *,
        supplier_id: str | None = None,
        kind: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> Page[Location]:
        return self._client.request(
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

    def iter(self, *, supplier_id: str | None = None, kind: str | None = None, limit: int = 200) -> Iterator[Location]:
        return self._client.paginate(
            _core.get("/v1/locations", Page[Location], supplier_id=supplier_id, kind=kind, limit=limit)
        )

    def update(self, location_id: str, *, version: int, **fields: Any) -> Location:
        return self._client.request(
            _core.patch(f"/v1/locations/{location_id}", Location, {"version": version, **fields})
        )

    def activate(self, location_id: str) -> Location:
        return self._client.request(_core.post(f"/v1/locations/{location_id}/activate", Location))

    def deactivate(self, location_id: str) -> Location:
        return self._client.request(_core.post(f"/v1/locations/{location_id}/deactivate", Location))


# -- offers and listings -------------------------------------------------------------------------


class Offers(_Resource):
    """A supplier offers a SKU at a wholesale price; it can stock only what it offers.

    >>> client.offers.create(sku="MILK-1L", wholesale_price=Money(amount=450, currency="CNY"))  # doctest: +SKIP
    """

    def create(
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
        return self._client.request(_core.post("/v1/offers", Offer, body, idempotency_key=idempotency_key))

    def get(self, offer_id: str) -> Offer:
        return self._client.request(_core.get(f"/v1/offers/{offer_id}", Offer))

    def list(
        self,
        *,
        sku: str | None = None,
        supplier_id: str | None = None,
        active: bool | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> Page[Offer]:
        return self._client.request(
            _core.get(
                "/v1/offers", Page[Offer], sku=sku, supplier_id=supplier_id, active=active, limit=limit, after=after
            )
        )

    def iter(self, *, sku: str | None = None, supplier_id: str | None = None, limit: int = 200) -> Iterator[Offer]:
        return self._client.paginate(
            _core.get("/v1/offers", Page[Offer], sku=sku, supplier_id=supplier_id, limit=limit)
        )

    def update(self, offer_id: str, *, version: int, wholesale_price: Money) -> Offer:
        return self._client.request(
            _core.patch(f"/v1/offers/{offer_id}", Offer, {"version": version, "wholesale_price": wholesale_price})
        )

    def activate(self, offer_id: str) -> Offer:
        return self._client.request(_core.post(f"/v1/offers/{offer_id}/activate", Offer))

    def deactivate(self, offer_id: str) -> Offer:
        return self._client.request(_core.post(f"/v1/offers/{offer_id}/deactivate", Offer))


class Listings(_Resource):
    """A channel lists a SKU at its own retail price.

    >>> client.listings.create(sku="MILK-1L", price=Money(amount=690, currency="CNY"))  # doctest: +SKIP
    """

    def create(
        self, *, sku: str, price: Money, channel_id: str | None = None, idempotency_key: str | None = None
    ) -> Listing:
        body: dict[str, Any] = {"sku": sku, "price": price}
        if channel_id:
            body["channel_id"] = channel_id
        return self._client.request(_core.post("/v1/listings", Listing, body, idempotency_key=idempotency_key))

    def get(self, listing_id: str) -> Listing:
        return self._client.request(_core.get(f"/v1/listings/{listing_id}", Listing))

    def list(
        self,
        *,
        sku: str | None = None,
        channel_id: str | None = None,
        active: bool | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> Page[Listing]:
        return self._client.request(
            _core.get(
                "/v1/listings", Page[Listing], sku=sku, channel_id=channel_id, active=active, limit=limit, after=after
            )
        )

    def iter(self, *, sku: str | None = None, channel_id: str | None = None, limit: int = 200) -> Iterator[Listing]:
        return self._client.paginate(
            _core.get("/v1/listings", Page[Listing], sku=sku, channel_id=channel_id, limit=limit)
        )

    def update(self, listing_id: str, *, version: int, price: Money) -> Listing:
        return self._client.request(
            _core.patch(f"/v1/listings/{listing_id}", Listing, {"version": version, "price": price})
        )

    def activate(self, listing_id: str) -> Listing:
        return self._client.request(_core.post(f"/v1/listings/{listing_id}/activate", Listing))

    def deactivate(self, listing_id: str) -> Listing:
        return self._client.request(_core.post(f"/v1/listings/{listing_id}/deactivate", Listing))


# -- inventory -----------------------------------------------------------------------------------


class Inventory(_Resource):
    """Stock levels and movements; `set` and `adjust` in batches; `sync` for any number of rows.

    >>> report = client.inventory.sync([  # doctest: +SKIP
    ...     {"location_id": "loc_…", "sku": "MILK-1L", "on_hand": 40},
    ... ])
    >>> report.applied, report.unchanged, report.refused  # doctest: +SKIP
    (1, 0, 0)
    """

    def set(self, items: Sequence[SetItem], *, idempotency_key: str | None = None) -> BatchResult:
        """Up to 10,000 absolute counts, each with its `sequence`; a result per item."""
        return self._client.request(
            _core.post("/v1/inventory/set", BatchResult, _SetBody(items=list(items)), idempotency_key=idempotency_key)
        )

    def adjust(self, items: Sequence[AdjustItem], *, idempotency_key: str | None = None) -> BatchResult:
        """Up to 10,000 deltas with a reason; each applied once across retries (the key)."""
        return self._client.request(
            _core.post(
                "/v1/inventory/adjust", BatchResult, _AdjustBody(items=list(items)), idempotency_key=idempotency_key
            )
        )

    def levels(
        self,
        *,
        location_id: str | None = None,
        sku: str | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> Page[Level]:
        return self._client.request(
            _core.get("/v1/inventory/levels", Page[Level], location_id=location_id, sku=sku, limit=limit, after=after)
        )

    def iter_levels(
        self, *, location_id: str | None = None, sku: str | None = None, limit: int = 200
    ) -> Iterator[Level]:
        """Every level (of a location, of a sku), streamed page by page."""
        return self._client.paginate(
            _core.get("/v1/inventory/levels", Page[Level], location_id=location_id, sku=sku, limit=limit)
        )

    def movements(
        self,
        *,
        location_id: str | None = None,
        sku: str | None = None,
        reason: str | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> Page[Movement]:
        return self._client.request(
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
    ) -> Iterator[Movement]:
        return self._client.paginate(
            _core.get(
                "/v1/inventory/movements", Page[Movement], location_id=location_id, sku=sku, reason=reason, limit=limit
            )
        )

    def iter_sync(
        self,
        rows: Iterable[SetItem | Mapping[str, Any]],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        sequence_base: int | None = None,
    ) -> Iterator[BatchReport]:
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
                answer = self.set(batch.items)
            except ValidationFailed as problem:  # should not happen: the rows were checked here
                yield report(batch, None, ("invalid_batch", problem.detail or problem.title))
                continue
            yield report(batch, answer)

    def sync(
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
        for batch in self.iter_sync(rows, batch_size=batch_size, sequence_base=sequence_base):
            total.add(batch)
        return total.finish()


# -- quotes, orders, fulfilment ------------------------------------------------------------------


class Quotes(_Resource):
    """Price and route lines, holding the stock until `expires_at`.

    >>> quote = client.quotes.create(lines=[Line(sku="MILK-1L", qty=2)],  # doctest: +SKIP
    ...                                    destination=Destination(lat=30.26, lng=120.16))
    """

    def create(
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
        return self._client.request(_core.post("/v1/quotes", Quote, body, idempotency_key=idempotency_key))

    def get(self, quote_id: str) -> Quote:
        return self._client.request(_core.get(f"/v1/quotes/{quote_id}", Quote))

    def release(self, quote_id: str) -> Quote:
        return self._client.request(_core.post(f"/v1/quotes/{quote_id}/release", Quote))


class Orders(_Resource):
    """Orders of a channel: from a quote, or from lines and a destination directly.

    >>> order = client.orders.create(quote_id=quote.id, reference="A-1001")  # doctest: +SKIP
    >>> [f.status for f in order.fulfilment_orders]  # doctest: +SKIP
    ['pending']
    """

    def create(
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
        return self._client.request(_core.post("/v1/orders", Order, body, idempotency_key=idempotency_key))

    def get(self, order_id: str) -> Order:
        return self._client.request(_core.get(f"/v1/orders/{order_id}", Order))

    def list(
        self,
        *,
        status: str | None = None,
        channel_id: str | None = None,
        reference: str | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> Page[Order]:
        return self._client.request(
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

    def iter(self, *, status: str | None = None, reference: str | None = None, limit: int = 200) -> Iterator[Order]:
        return self._client.paginate(
            _core.get("/v1/orders", Page[Order], status=status, reference=reference, limit=limit)
        )

    def cancel(self, order_id: str) -> Order:
        return self._client.request(_core.post(f"/v1/orders/{order_id}/cancel", Order))


class FulfilmentOrders(_Resource):
    """A supplier's share of orders: accept, pick, ship (or ready for pickup), deliver.

    >>> for job in client.fulfilment_orders.iter(status="pending"):  # doctest: +SKIP
    ...     client.fulfilment_orders.accept(job.id)
    """

    def get(self, fulfilment_id: str) -> FulfilmentOrder:
        return self._client.request(_core.get(f"/v1/fulfilment-orders/{fulfilment_id}", FulfilmentOrder))

    def list(
        self,
        *,
        status: str | None = None,
        location_id: str | None = None,
        order_id: str | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> Page[FulfilmentOrder]:
        return self._client.request(
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
    ) -> Iterator[FulfilmentOrder]:
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

    def _act(self, fulfilment_id: str, action: str, body: Any = None) -> FulfilmentOrder:
        return self._client.request(
            _core.post(f"/v1/fulfilment-orders/{fulfilment_id}/{action}", FulfilmentOrder, body)
        )

    def accept(self, fulfilment_id: str) -> FulfilmentOrder:
        return self._act(fulfilment_id, "accept")

    def reject(self, fulfilment_id: str, reason: str) -> FulfilmentOrder:
        """Refuse it: the gateway re-routes its lines to the next location."""
        return self._act(fulfilment_id, "reject", {"reason": reason})

    def pick(self, fulfilment_id: str) -> FulfilmentOrder:
        return self._act(fulfilment_id, "pick")

    def ship(self, fulfilment_id: str) -> FulfilmentOrder:
        return self._act(fulfilment_id, "ship")

    def ready_for_pickup(self, fulfilment_id: str) -> FulfilmentOrder:
        return self._act(fulfilment_id, "ready-for-pickup")

    def deliver(self, fulfilment_id: str) -> FulfilmentOrder:
        return self._act(fulfilment_id, "deliver")


# -- events and webhooks -------------------------------------------------------------------------


class Events(_Resource):
    """The event feed: the source of truth behind webhooks.

    >>> for event in client.events.iter(after=last_seen):  # doctest: +SKIP
    ...     handle(event)
    """

    def get(self, event_id: str) -> Event:
        return self._client.request(_core.get(f"/v1/events/{event_id}", Event))

    def list(self, *, type: str | None = None, limit: int | None = None, after: str | None = None) -> Page[Event]:
        return self._client.request(_core.get("/v1/events", Page[Event], type=type, limit=limit, after=after))

    def iter(self, *, after: str | None = None, type: str | None = None, limit: int = 200) -> Iterator[Event]:
        """Every event after `after` (the oldest first) up to now."""
        return self._client.paginate(_core.get("/v1/events", Page[Event], type=type, limit=limit, after=after))

    def tail(
        self,
        *,
        after: str | None = None,
        type: str | None = None,
        poll_interval: float = 2.0,
        stop_when_idle: bool = False,
    ) -> Iterator[Event]:
        """Follow the feed: every event after `after`, then new ones as they come (polling).
        With `stop_when_idle`, stop at the first poll that finds nothing new."""
        cursor = after
        while True:
            found = False
            for event in self.iter(after=cursor, type=type):
                found = True
                cursor = event.id
                yield event
            if not found and stop_when_idle:
                return
            if not found:
                sleep(poll_interval)

    def redeliver(self, event_id: str) -> None:
        self._client.request(_core.post(f"/v1/events/{event_id}/redeliver", None))


class WebhookEndpoints(_Resource):
    """Where events are delivered (Standard Webhooks). The `secret` is in the answer of
    `create` and `rotate_secret` only: keep it for `verify_webhook`.

    >>> endpoint = client.webhook_endpoints.create(  # doctest: +SKIP
    ...     url="https://erp.example/hooks/gateway", events=["fulfilment_order.*"])
    """

    def create(
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
        return self._client.request(
            _core.post("/v1/webhook-endpoints", WebhookEndpoint, body, idempotency_key=idempotency_key)
        )

    def get(self, endpoint_id: str) -> WebhookEndpoint:
        return self._client.request(_core.get(f"/v1/webhook-endpoints/{endpoint_id}", WebhookEndpoint))

    def list(
        self, *, status: str | None = None, limit: int | None = None, after: str | None = None
    ) -> Page[WebhookEndpoint]:
        return self._client.request(
            _core.get("/v1/webhook-endpoints", Page[WebhookEndpoint], status=status, limit=limit, after=after)
        )

    def iter(self, *, status: str | None = None, limit: int = 200) -> Iterator[WebhookEndpoint]:
        return self._client.paginate(
            _core.get("/v1/webhook-endpoints", Page[WebhookEndpoint], status=status, limit=limit)
        )

    def update(self, endpoint_id: str, *, version: int, **fields: Any) -> WebhookEndpoint:
        return self._client.request(
            _core.patch(f"/v1/webhook-endpoints/{endpoint_id}", WebhookEndpoint, {"version": version, **fields})
        )

    def delete(self, endpoint_id: str) -> None:
        self._client.request(_core.delete(f"/v1/webhook-endpoints/{endpoint_id}"))

    def enable(self, endpoint_id: str) -> WebhookEndpoint:
        return self._client.request(_core.post(f"/v1/webhook-endpoints/{endpoint_id}/enable", WebhookEndpoint))

    def disable(self, endpoint_id: str) -> WebhookEndpoint:
        return self._client.request(_core.post(f"/v1/webhook-endpoints/{endpoint_id}/disable", WebhookEndpoint))

    def rotate_secret(self, endpoint_id: str) -> WebhookEndpoint:
        """A new secret (in the answer); the old one stays valid for 24 hours."""
        return self._client.request(_core.post(f"/v1/webhook-endpoints/{endpoint_id}/rotate-secret", WebhookEndpoint))

    def ping(self, endpoint_id: str) -> PingResult:
        """Send a signed `webhook_endpoint.ping` now: a quick check of the URL and of your
        verification (not a feed event, not retried)."""
        return self._client.request(_core.post(f"/v1/webhook-endpoints/{endpoint_id}/ping", PingResult))

    def iter_deliveries(self, endpoint_id: str, *, status: str | None = None, limit: int = 200) -> Iterator[Delivery]:
        return self._client.paginate(
            _core.get(f"/v1/webhook-endpoints/{endpoint_id}/deliveries", Page[Delivery], status=status, limit=limit)
        )


def encode(value: Any) -> bytes:
    """JSON of any SDK struct (for printing and storing)."""
    return msgspec.json.encode(value)
