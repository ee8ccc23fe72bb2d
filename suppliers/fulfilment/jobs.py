"""Fulfilment's background work, registered with `gateway.background`."""

from __future__ import annotations

from gateway import background
from gateway.settings import Settings
from suppliers.fulfilment import services

BATCH = 100
MAX_BATCHES = 20


@background.job("fulfilment.acceptance_deadlines", every=lambda settings: settings.reservation_sweep_seconds)
async def enforce_acceptance_deadlines(settings: Settings) -> int:
    """Re-route fulfilment orders their supplier did not accept in time. One process sweeps per
    interval; each re-route is a conditional update on `pending`, so an order moves once."""
    moved = 0
    for _ in range(MAX_BATCHES):
        count = await services.expire_acceptance(limit=BATCH)
        moved += count
        if count < BATCH:
            break
    return moved
