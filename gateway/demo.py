"""`gateway demo`: a tenant to try the API with.

The kernel creates the tenant and its operator key, runs the steps the components registered
(`step`), in their order, then its own (webhook endpoints, an OAuth user and client). The steps
share one `world` dict: what a step made (ids, keys) is there for the later ones. A step adds
what the developer should see to `world["summary"]` and ready-to-run lines to `world["try"]`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from gateway import components
from gateway.oauth import demo as oauth_demo
from gateway.storage import all_tables, db
from gateway.tenancy import credentials
from gateway.tenancy import services as tenancy
from gateway.tenancy.principal import Principal
from gateway.webhooks import demo as webhooks_demo

DEMO_TENANT = "Demo City Supply"
#: where `gateway serve` answers by default: the demo partner page's origins
DEMO_ORIGINS = ["http://127.0.0.1:8000", "http://localhost:8000"]

#: one step of the demo: the operator acting, and the world the earlier steps made
Seed = Callable[[Principal, dict[str, Any]], Awaitable[None]]
_steps: dict[str, tuple[int, Seed]] = {}


def step(name: str, order: int, seed: Seed) -> None:
    """Run `seed` in the demo, after every step of a lower `order` (the kernel's webhook
    endpoints run at 900, its OAuth user and client at 950)."""
    _steps[name] = (order, seed)


async def _remove_demo_tenants() -> None:
    rows = await db().fetch("SELECT id FROM tenants WHERE name = ?", DEMO_TENANT)
    for row in rows:
        async with db().transaction():
            for table in all_tables():
                # tables of no tenant (the background jobs' leases) keep their rows
                tenanted = any(column._meta.name == "tenant_id" for column in table._meta.columns)
                if table._meta.tablename != "tenants" and tenanted:
                    await db().fetch(f"DELETE FROM {table._meta.tablename} WHERE tenant_id = ?", row["id"])
            await db().fetch("DELETE FROM tenants WHERE id = ?", row["id"])
            await credentials.changed()  # its keys, cached by serving processes, stop working


async def _webhooks(operator: Principal, world: dict[str, Any]) -> None:
    await webhooks_demo.seed(operator, world)
    #: disabled, at a placeholder URL: PATCH the url to your receiver, enable, ping (docs/webhooks.md)
    world["summary"]["webhook_endpoints"] = world.get("webhook_endpoints", [])


async def _oauth(operator: Principal, world: dict[str, Any]) -> None:
    if world.get("channel_id") is None:
        return  # the demo user and client belong to the demo channel
    oauth = await oauth_demo.seed(operator, world)
    world["summary"]["oauth"] = oauth
    world["try"] += oauth_demo.try_lines(oauth)


step("webhooks", 900, _webhooks)
step("oauth", 950, _oauth)


async def build_demo(reset: bool = False, origins: list[str] | None = None) -> dict[str, Any]:
    components.load()
    if reset:
        await _remove_demo_tenants()
    created = await tenancy.create_tenant(DEMO_TENANT)
    operator_key = created.operator_key
    principal = Principal(tenant_id=created.tenant.id, type="operator", owner_id=None, key_id="demo", key_kind="secret")
    base = "http://127.0.0.1:8000"
    world: dict[str, Any] = {
        "tenant_id": created.tenant.id,
        "operator_key": operator_key,
        "origins": origins or DEMO_ORIGINS,
        "summary": {"tenant": {"id": created.tenant.id, "name": created.tenant.name}, "operator_key": operator_key},
        "try": [f"curl -s '{base}/v1/events?limit=5' -H 'Authorization: Bearer {operator_key}'"],
    }
    for _, seed in sorted(_steps.values(), key=lambda entry: entry[0]):
        await seed(principal, world)
    return {**world["summary"], "try": world["try"]}
