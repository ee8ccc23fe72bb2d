"""The application factory: assembles the domains into one Litestar app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from importlib.metadata import PackageNotFoundError, version

from litestar import Litestar
from litestar.datastructures import State
from litestar.middleware.base import DefineMiddleware

from channels.controllers import ChannelController
from channels.listings.controllers import ROUTES as LISTING_ROUTES
from channels.orders.controllers import ROUTES as ORDER_ROUTES
from channels.routing.controllers import ROUTES as ROUTING_ROUTES
from channels.storefront.controllers import ROUTES as STOREFRONT_ROUTES
from gateway.crypto import load_keyring, use_keyring
from gateway.events.controllers import EventController
from gateway.http.allow import complete_allow_header
from gateway.http.context import RequestContextMiddleware, configure_logging, stamp_response
from gateway.http.cors import cors_headers
from gateway.http.health import healthz, readyz
from gateway.http.idempotency import IdempotencyMiddleware, purge_expired
from gateway.http.openapi import StrictStructSchemaPlugin, openapi_config
from gateway.http.problems import handle_exception
from gateway.http.ratelimit import CounterStore, MemoryCounters, RateLimitMiddleware, RedisCounters
from gateway.settings import Settings
from gateway.storage import Database, make_engine, use
from gateway.tenancy.auth import PUBLIC_PATHS, BearerAuthenticationMiddleware
from gateway.tenancy.controllers import ApiKeyController
from gateway.tenancy.origins import origin_in_use
from suppliers.routes import ROUTES as SUPPLIER_ROUTES

log = logging.getLogger("gateway")


def _version() -> str:
    try:
        return version("commerce-gateway")
    except PackageNotFoundError:
        return "0.0.0"


def create_app(settings: Settings | None = None, database: Database | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    database = database or Database(make_engine(settings))
    configure_logging(settings.log_level)
    counters: CounterStore = RedisCounters(settings.redis_url) if settings.redis_url else MemoryCounters()

    @contextlib.asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        use_keyring(load_keyring(settings))  # refuses to start on PostgreSQL without keys
        use(database)  # at startup, not construction: building an app for its schema binds nothing
        janitors = [
            asyncio.create_task(_purge_idempotency_keys(settings.idempotency_retention_hours)),
            asyncio.create_task(_expire_reservations(settings.reservation_sweep_seconds)),
            asyncio.create_task(_enforce_acceptance_deadlines(settings.reservation_sweep_seconds)),
        ]
        try:
            yield
        finally:
            for janitor in janitors:
                janitor.cancel()
            await database.close()

    return Litestar(
        route_handlers=[
            healthz,
            readyz,
            *SUPPLIER_ROUTES,
            ChannelController,
            *LISTING_ROUTES,
            *ORDER_ROUTES,
            *ROUTING_ROUTES,
            *STOREFRONT_ROUTES,
            ApiKeyController,
            EventController,
        ],
        middleware=[
            RequestContextMiddleware,
            DefineMiddleware(BearerAuthenticationMiddleware, exclude=PUBLIC_PATHS),
            DefineMiddleware(
                RateLimitMiddleware,
                store=counters,
                limit=settings.rate_limit,
                window=settings.rate_limit_window_seconds,
            ),
            DefineMiddleware(
                IdempotencyMiddleware,
                lock_seconds=settings.idempotency_lock_seconds,
                max_body_bytes=settings.max_body_bytes,
            ),
        ],
        exception_handlers={Exception: handle_exception},
        before_send=[stamp_response, complete_allow_header, cors_headers],
        state=State(
            {
                "settings": settings,
                # read by gateway.http.cors and the bearer middleware (publishable keys' origins)
                "storefront_allow_localhost": settings.storefront_allow_localhost,
                "origin_directory": origin_in_use,
            }
        ),
        lifespan=[lifespan],
        openapi_config=openapi_config(_version()),
        plugins=[StrictStructSchemaPlugin()],
        request_max_body_size=settings.max_body_bytes,
        logging_config=None,
    )


async def _expire_reservations(every_seconds: float) -> None:
    """Release held stock whose quote lapsed. Every process sweeps; the conditional updates
    make concurrent sweeps harmless."""
    from suppliers.inventory.services import expire_reservations

    while True:
        await asyncio.sleep(every_seconds)
        try:
            await expire_reservations()
        except Exception:
            log.warning("reservation sweep failed", exc_info=True)


async def _enforce_acceptance_deadlines(every_seconds: float) -> None:
    """Re-route fulfilment orders their supplier did not accept in time. Every process sweeps;
    each re-route is a conditional update on `pending`, so only one process moves an order."""
    from suppliers.fulfilment.services import expire_acceptance

    while True:
        await asyncio.sleep(every_seconds)
        try:
            await expire_acceptance()
        except Exception:
            log.warning("acceptance deadline sweep failed", exc_info=True)


async def _purge_idempotency_keys(retention_hours: int) -> None:
    while True:
        await asyncio.sleep(900)
        try:
            await purge_expired(retention_hours)
        except Exception:  # a failed sweep is retried at the next one
            log.warning("idempotency purge failed", exc_info=True)
