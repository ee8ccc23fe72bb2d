"""Background work: periodic jobs that domains register, run once across any number of
gateway processes.

A domain registers its jobs at import, without `gateway` importing the domain:

    from gateway import background

    @background.job("inventory.expire_reservations", every=lambda s: s.reservation_sweep_seconds)
    async def expire_reservations(settings: Settings) -> int:
        return await services.expire_reservations()   # how many items it handled

`gateway serve` runs the registered jobs in every worker (unless `--no-background` or
`GATEWAY_BACKGROUND=false`); `gateway worker` runs them alone. Shutdown lets a running tick
finish before the database pool closes.

Coordination (`gateway.background.claims`):

- a `cluster` job (the default) ticks once per interval across all processes: each process
  tries one conditional UPDATE of the job's row in `background_jobs`, one wins. A process that
  dies mid-tick holds the lease until `lease_seconds` lapse; then another takes over.
- a `process` job ticks in every process and splits its rows with `claim_due` (lease up to N due
  rows of a table: `FOR UPDATE SKIP LOCKED` on PostgreSQL) or `lock_due` (lock them for the
  current transaction only). Webhook deliveries work this way.

Each tick is counted in the metrics (`gateway_background_ticks_total{job,outcome}` with outcome
`ran`, `skipped`, `failed`; its duration and the items it handled).
"""

from gateway.background.claims import claim_due, lock_due, now_ms
from gateway.background.registry import Job, job, register, registered, unregister
from gateway.background.runner import BackgroundRunner

__all__ = [
    "BackgroundRunner",
    "Job",
    "claim_due",
    "job",
    "lock_due",
    "now_ms",
    "register",
    "registered",
    "unregister",
]
