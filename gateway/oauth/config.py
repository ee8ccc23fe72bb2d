"""The OAuth settings of this process, its background work, and the issuer of a request."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from gateway import background
from gateway.clock import utcnow
from gateway.oauth import keyring, revocation
from gateway.settings import Settings
from gateway.storage import db

log = logging.getLogger("gateway")


@dataclass(frozen=True)
class OAuthConfig:
    issuer: str | None = None
    access_token_seconds: int = 3600
    refresh_token_days: int = 30

    @classmethod
    def from_settings(cls, settings: Settings) -> OAuthConfig:
        issuer = settings.oauth_issuer.rstrip("/") if settings.oauth_issuer else None  # checked by Settings
        return cls(issuer, settings.oauth_access_token_seconds, settings.oauth_refresh_token_days)


_config = OAuthConfig()


def config() -> OAuthConfig:
    return _config


def configure(settings: Settings) -> None:
    global _config
    _config = OAuthConfig.from_settings(settings)
    revocation.configure(_config.access_token_seconds)


def issuer_of(connection: Any) -> str:
    """The configured issuer, or (unset) the URL this request came to."""
    if _config.issuer:
        return _config.issuer
    return str(connection.base_url).rstrip("/")


async def start() -> None:
    """At startup, before serving: a signing key exists and is loaded, revocations are known."""
    await keyring.ensure_current()
    await keyring.ring.load()
    await revocation.cache.refresh()


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[None]:
    """The OAuth part of the app's lifespan: configuration, then the polls and the clean-up."""
    configure(settings)
    await start()
    # every serving process polls, whatever runs the background jobs: it verifies tokens itself
    tasks = [asyncio.create_task(revocation.poll_forever()), asyncio.create_task(_reload_keys_forever())]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()


async def _reload_keys_forever() -> None:
    while True:
        await asyncio.sleep(keyring.RELOAD_SECONDS)
        try:
            await keyring.ring.load()
        except Exception:
            log.warning("signing key reload failed", exc_info=True)


@background.job("oauth.purge_expired", every=900)
async def purge_expired(settings: Settings) -> int:
    """Expired codes and refresh tokens (kept a day, so a late replay is still recognised and
    revokes its family), and revocations no token needs any more."""
    cutoff = utcnow() - timedelta(days=1)
    codes = await db().fetch("DELETE FROM oauth_codes WHERE expires_at < ? RETURNING id", cutoff)
    refresh = await db().fetch("DELETE FROM oauth_refresh_tokens WHERE expires_at < ? RETURNING id", cutoff)
    return len(codes) + len(refresh) + await revocation.purge_expired()
