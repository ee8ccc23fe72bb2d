"""The webhook settings the API and the worker act on, read once from `Settings`."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.settings import Settings
from gateway.webhooks import schedule


@dataclass(frozen=True)
class WebhookConfig:
    allow_insecure: bool = False
    schedule: tuple[float, ...] = schedule.DEFAULT_SCHEDULE
    disable_after: int = 10
    timeout: float = 10.0
    concurrency: int = 64
    endpoint_concurrency: int = 8
    poll: float = 0.1

    @property
    def lease(self) -> float:
        """How long a claim keeps a delivery from other workers: longer than any attempt can
        take, so two processes never send one delivery at the same time; short enough that a
        delivery held by a killed process is soon due again."""
        return 2 * self.timeout + 5

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookConfig:
        return cls(
            allow_insecure=settings.webhooks_allow_insecure,
            schedule=schedule.parse(settings.webhooks_retry_schedule)
            if settings.webhooks_retry_schedule
            else schedule.DEFAULT_SCHEDULE,
            disable_after=settings.webhooks_disable_after,
            timeout=settings.webhooks_timeout_seconds,
            concurrency=settings.webhooks_concurrency,
            endpoint_concurrency=settings.webhooks_endpoint_concurrency,
            poll=settings.webhooks_poll_seconds,
        )


_current: WebhookConfig | None = None


def use(config: WebhookConfig) -> None:
    """Make `config` the one `current()` returns (the app's startup calls this)."""
    global _current
    _current = config


def current() -> WebhookConfig:
    global _current
    if _current is None:
        _current = WebhookConfig.from_settings(Settings.from_env())
    return _current
