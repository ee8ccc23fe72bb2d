"""The application factory: the kernel's routes and middleware, and the routes of every
installed component (`gateway.components`; the kernel imports no domain)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from importlib.metadata import PackageNotFoundError, version

from litestar import Litestar
from litestar.datastructures import State
from litestar.middleware.base import DefineMiddleware

from gateway import components, startup
from gateway.background import BackgroundRunner
from gateway.crypto import load_keyring, use_keyring
from gateway.events.controllers import EventController
from gateway.http.context import configure_logging
from gateway.http.cors import mark_storefront_paths
from gateway.http.health import healthz, metrics_endpoint, readyz
from gateway.http.openapi import StrictStructSchemaPlugin, openapi_config
from gateway.http.pipeline import RequestPipeline, stamp_answer
from gateway.http.problems import handle_exception
from gateway.http.ratelimit import make_counter_store
from gateway.http.responses import GatewayResponse
from gateway.oauth import scopes
from gateway.oauth.config import running as oauth_running
from gateway.oauth.routes import PUBLIC_PATHS as OAUTH_PUBLIC_PATHS
from gateway.oauth.routes import ROUTES as OAUTH_ROUTES
from gateway.settings import Settings
from gateway.storage import Database, make_engine, use
from gateway.tenancy.auth import PUBLIC_PATHS
from gateway.tenancy.controllers import ApiKeyController
from gateway.tenancy.origins import origin_in_use
from gateway.webhooks.config import WebhookConfig
from gateway.webhooks.config import use as use_webhook_config
from gateway.webhooks.controllers import ROUTES as WEBHOOK_ROUTES

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
    counters = make_counter_store(settings.redis_url, settings.redis_timeout_seconds)

    @contextlib.asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        use_keyring(load_keyring(settings))  # refuses to start on PostgreSQL without keys
        use(database)  # at startup, not construction: building an app for its schema binds nothing
        use_webhook_config(WebhookConfig.from_settings(settings))
        # the jobs the domains registered (gateway.background); `serve --no-background` leaves them
        # to `gateway worker` processes
        runner = BackgroundRunner(settings) if settings.background else None
        if runner is not None:
            await runner.start()
        try:
            async with startup.running():  # what components start beside us (warm caches)
                yield
        finally:
            if runner is not None:
                await runner.stop()  # a running tick finishes before the pool closes
            await database.close()

    def oauth_lifespan(_: Litestar) -> contextlib.AbstractAsyncContextManager[None]:
        return oauth_running(settings)  # after `lifespan` (the database is bound): keys, revocation polls

    app = Litestar(
        route_handlers=[
            healthz,
            readyz,
            metrics_endpoint(settings.metrics_token),
            # the components' (suppliers, channels: gateway.components)
            *components.route_handlers(),
            ApiKeyController,
            EventController,
            *OAUTH_ROUTES,
            *WEBHOOK_ROUTES,
        ],
        # one layer: request id, address limit, authentication, credential limit, idempotency
        middleware=[
            DefineMiddleware(
                RequestPipeline,
                store=counters,
                address_limit=settings.address_rate_limit,
                limit=settings.rate_limit,
                window=settings.rate_limit_window_seconds,
                proxies=settings.trusted_proxy_networks,
                public_paths=[*PUBLIC_PATHS, *OAUTH_PUBLIC_PATHS],
                max_body_bytes=settings.max_body_bytes,
            ),
        ],
        exception_handlers={Exception: handle_exception},
        response_class=GatewayResponse,  # Litestar's, with a short way for plain JSON answers
        # request id, rate-limit headers, metrics, access log, Allow, CORS: on every answer
        before_send=[stamp_answer],
        state=State(
            {
                "settings": settings,
                # what lockouts (gateway.http.lockout) and readiness read: the shared counters
                "counters": counters,
                # read by gateway.http.cors and authentication (publishable keys' origins)
                "storefront_allow_localhost": settings.storefront_allow_localhost,
                "origin_directory": origin_in_use,
            }
        ),
        lifespan=[lifespan, oauth_lifespan],
        openapi_config=openapi_config(_version()),
        plugins=[StrictStructSchemaPlugin()],
        request_max_body_size=settings.max_body_bytes,
        logging_config=None,
    )
    mark_storefront_paths(app.routes)  # the paths CORS answers for (gateway.http.cors)
    # every operation's scope, enforced for access tokens and published (gateway.oauth.scopes)
    for operation in scopes.apply(app.routes):
        log.warning("%s declares no OAuth scope: access tokens are refused there", operation)
    return app
