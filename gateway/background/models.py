"""The lease row of each cluster-wide background job (`gateway.background`)."""

from __future__ import annotations

from piccolo.columns import BigInt, Integer, Text, Varchar
from piccolo.table import Table


class JobLease(Table, tablename="background_jobs"):
    #: the job's registered name, e.g. `inventory.expire_reservations`
    name = Varchar(length=100, primary_key=True)
    #: epoch milliseconds before which no process starts the next tick
    next_run_ms = BigInt(default=0)
    #: epoch milliseconds until which `holder` owns the running tick; 0 when none runs
    lease_until_ms = BigInt(default=0)
    #: `host:pid` of the process running (or that last ran) the tick
    holder = Varchar(length=200, default="")
    runs = BigInt(default=0)
    last_items = Integer(default=0)
    last_finished_ms = BigInt(default=0)
    #: the last tick's error, empty when it succeeded
    last_error = Text(default="")
