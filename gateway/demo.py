"""`gateway demo`: a tenant to try the API with: suppliers, a channel, and keys for each."""

from __future__ import annotations

from typing import Any

from channels.insight import demo as insight_demo
from channels.listings import demo as listings_demo
from channels.orders import demo as orders_demo
from channels.services import channels
from channels.storefront import demo as storefront_demo
from gateway.oauth import demo as oauth_demo
from gateway.storage import all_tables, db
from gateway.tenancy import services as tenancy
from gateway.tenancy.principal import Principal
from gateway.tenancy.schemas import ApiKeyCreate, ChannelOwner, SupplierOwner
from gateway.webhooks import demo as webhooks_demo
from suppliers.catalogue import demo as catalogue_demo
from suppliers.inventory import demo as inventory_demo
from suppliers.locations import demo as locations_demo
from suppliers.offers import demo as offers_demo
from suppliers.services import suppliers as supplier_parties

DEMO_TENANT = "Demo City Supply"
SUPPLIERS = ["Fresh Valley Grocers", "Harbour Bikes & Parts", "Old Town Bakery"]
#: where `gateway serve` answers by default: the demo partner page's origins
DEMO_ORIGINS = ["http://127.0.0.1:8000", "http://localhost:8000"]


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


async def build_demo(reset: bool = False, origins: list[str] | None = None) -> dict[str, Any]:
    if reset:
        await _remove_demo_tenants()
    created = await tenancy.create_tenant(DEMO_TENANT)
    operator_key = created.operator_key
    principal = Principal(tenant_id=created.tenant.id, type="operator", owner_id=None, key_id="demo", key_kind="secret")

    suppliers = []
    for name in SUPPLIERS:
        supplier = await supplier_parties.create(principal, {"name": name})
        key = await tenancy.create(principal, ApiKeyCreate(owner=SupplierOwner(id=supplier.id), name="demo"))
        suppliers.append({"id": supplier.id, "name": supplier.name, "secret_key": key.key})

    channel = await channels.create(principal, {"name": "Pedal City bike-share", "kind": "partner_app"})
    channel_secret = await tenancy.create(
        principal, ApiKeyCreate(owner=ChannelOwner(id=channel.id), name="demo server")
    )
    shop_origins = origins or DEMO_ORIGINS
    channel_public = await tenancy.create(
        principal,
        ApiKeyCreate(
            owner=ChannelOwner(id=channel.id), kind="publishable", name="demo widget", allowed_origins=shop_origins
        ),
    )
    world: dict[str, Any] = {
        "tenant_id": created.tenant.id,
        "suppliers": suppliers,
        "channel_id": channel.id,
        "publishable_key": channel_public.key,
        "publishable_key_id": channel_public.id,
        "server_key_id": channel_secret.id,
    }
    areas = (
        catalogue_demo,
        locations_demo,
        offers_demo,
        listings_demo,
        inventory_demo,
        orders_demo,
        insight_demo,
        storefront_demo,
        webhooks_demo,
    )
    for area in areas:
        await area.seed(principal, world)
    oauth = await oauth_demo.seed(principal, world)

    summary: dict[str, Any] = {
        "tenant": {"id": created.tenant.id, "name": created.tenant.name},
        "operator_key": operator_key,
        "suppliers": suppliers,
        "channel": {
            "id": channel.id,
            "name": channel.name,
            "secret_key": channel_secret.key,
            "publishable_key": channel_public.key,
            "publishable_key_id": channel_public.id,
            "allowed_origins": shop_origins,
        },
        "shop": [f"{origin}/demo/shop" for origin in shop_origins],
        "oauth": oauth,
        #: disabled, at a placeholder URL: PATCH the url to your receiver, enable, ping (docs/webhooks.md)
        "webhook_endpoints": world.get("webhook_endpoints", []),
        "try": [
            f"curl -s http://127.0.0.1:8000/v1/suppliers -H 'Authorization: Bearer {operator_key}'",
            f"curl -s http://127.0.0.1:8000/v1/suppliers/{suppliers[0]['id']} -H 'Authorization: Bearer {suppliers[0]['secret_key']}'",
            f"curl -s 'http://127.0.0.1:8000/v1/events?limit=5' -H 'Authorization: Bearer {operator_key}'",
            *_order_lines(world, channel_secret.key, suppliers[0]["secret_key"]),
            *_insight_lines(world, operator_key, suppliers[1]["secret_key"]),
            *oauth_demo.try_lines(oauth),
        ],
    }
    return summary


def _insight_lines(world: dict[str, Any], operator_key: str, supplier_key: str) -> list[str]:
    """Statements, perfect orders, a coverage picture and replenishment advice of the demo week."""
    base = "http://127.0.0.1:8000/v1"
    auth = f"-H 'Authorization: Bearer {operator_key}'"
    lines = [
        f"curl -s '{base}/statements' {auth}",
        f"curl -s '{base}/statements/csv' -H 'Authorization: Bearer {supplier_key}'",
        f"curl -s '{base}/insight/attribution?group_by=location' {auth}",
        f"curl -s '{base}/insight/perfect-orders?group_by=location' {auth}",
        f"curl -s '{base}/insight/replenishment' {auth}",
    ]
    sku = world.get("quote_sku") or world.get("scarce_sku")
    if sku:
        lines.append(f"curl -s '{base}/insight/coverage.svg?sku={sku}' {auth} -o coverage.svg")
    return lines


def _order_lines(world: dict[str, Any], channel_key: str, supplier_key: str) -> list[str]:
    """Ready-to-run curl lines: a quote and an order to the demo flat, and a supplier's inbox."""
    sku = world.get("quote_sku")
    if sku is None:
        return []
    body = f'{{"lines": [{{"sku": "{sku}", "qty": 1}}], "destination": {{"lat": 30.26, "lng": 120.16}}, "mode": "delivery"}}'
    auth = f"-H 'Authorization: Bearer {channel_key}' -H 'Content-Type: application/json'"
    return [
        f"curl -s -X POST http://127.0.0.1:8000/v1/quotes {auth} -d '{body}'",
        f"curl -s -X POST http://127.0.0.1:8000/v1/orders {auth} -H 'Idempotency-Key: demo-order-1' -d '{body}'",
        "curl -s -X POST http://127.0.0.1:8000/v1/orders "
        f'{auth} -d \'{{"quote_id": "<id from the quote>", "customer": {{"name": "Li Lei"}}}}\'',
        f"curl -s 'http://127.0.0.1:8000/v1/fulfilment-orders?status=pending' -H 'Authorization: Bearer {supplier_key}'",
    ]
