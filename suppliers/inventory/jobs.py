"""The inventory's background work, registered with `gateway.background`."""

from __future__ import annotations

from gateway import background
from gateway.settings import Settings
from suppliers.inventory import services

BATCH = 500
#: at most this many batches per tick, so one tick never runs unbounded
MAX_BATCHES = 20


@background.job("inventory.expire_reservations", every=lambda settings: settings.reservation_sweep_seconds)
async def expire_reservations(settings: Settings) -> int:
    """Release held stock whose quote lapsed. One process sweeps per interval (the job's lease);
    each release is still a conditional update, so even two sweepers release a hold once."""
    released = 0
    for _ in range(MAX_BATCHES):
        count = await services.expire_reservations(limit=BATCH)
        released += count
        if count < BATCH:
            break
    return released
