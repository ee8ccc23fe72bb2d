"""The webhook worker as background work (`gateway.background`): every process that runs
background jobs (`gateway serve`, `gateway worker`) delivers, and the claims share the work."""

from __future__ import annotations

import asyncio
import weakref

from gateway import background
from gateway.settings import Settings
from gateway.webhooks import config as webhook_config
from gateway.webhooks import services
from gateway.webhooks.config import WebhookConfig
from gateway.webhooks.delivery import Worker

_workers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Worker] = weakref.WeakKeyDictionary()


def worker_for(settings: Settings) -> Worker:
    """This event loop's worker (its HTTP connections are kept between ticks)."""
    loop = asyncio.get_running_loop()
    worker = _workers.get(loop)
    if worker is None:
        config = WebhookConfig.from_settings(settings)
        webhook_config.use(config)
        worker = _workers[loop] = Worker(config)
    return worker


@background.job("webhooks.deliver", every=lambda settings: settings.webhooks_poll_seconds, scope="process")
async def deliver(settings: Settings) -> int:
    """Fan new events out to endpoints and send what is due, until nothing is left right now."""
    return await worker_for(settings).drain()


@background.job("webhooks.purge", every=3600)
async def purge(settings: Settings) -> int:
    """Forget finished deliveries and attempts older than the retention (the feed keeps the
    events themselves)."""
    return await services.purge(settings.webhooks_retention_days)
