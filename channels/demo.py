"""The demo's channel (a step of `gateway demo`): a bike-share partner app with a server key,
and a publishable key for the demo shop page; and the lines that try orders and insight."""

from __future__ import annotations

from typing import Any

from channels.services import channels
from gateway.tenancy import services as tenancy
from gateway.tenancy.principal import Principal
from gateway.tenancy.schemas import ApiKeyCreate, ChannelOwner

BASE = "http://127.0.0.1:8000/v1"


async def seed(operator: Principal, world: dict[str, Any]) -> None:
    """Leaves the channel's id, its publishable key and both keys' ids in `world` (for the
    storefront's demo shop) and the secret key (for the try lines)."""
    channel = await channels.create(operator, {"name": "Pedal City bike-share", "kind": "partner_app"})
    secret = await tenancy.create(operator, ApiKeyCreate(owner=ChannelOwner(id=channel.id), name="demo server"))
    shop_origins = world["origins"]
    public = await tenancy.create(
        operator,
        ApiKeyCreate(
            owner=ChannelOwner(id=channel.id), kind="publishable", name="demo widget", allowed_origins=shop_origins
        ),
    )
    world.update(
        channel_id=channel.id,
        channel_secret_key=secret.key,
        publishable_key=public.key,
        publishable_key_id=public.id,
        server_key_id=secret.id,
    )
    world["summary"]["channel"] = {
        "id": channel.id,
        "name": channel.name,
        "secret_key": secret.key,
        "publishable_key": public.key,
        "publishable_key_id": public.id,
        "allowed_origins": shop_origins,
    }
    world["summary"]["shop"] = [f"{origin}/demo/shop" for origin in shop_origins]


async def order_lines(_: Principal, world: dict[str, Any]) -> None:
    """Ready-to-run curl lines: a quote and an order to the demo flat, and a supplier's inbox."""
    sku = world.get("quote_sku")
    if sku is None or not world.get("suppliers"):
        return
    supplier_key = world["suppliers"][0]["secret_key"]
    body = f'{{"lines": [{{"sku": "{sku}", "qty": 1}}], "destination": {{"lat": 30.26, "lng": 120.16}}, "mode": "delivery"}}'
    auth = f"-H 'Authorization: Bearer {world['channel_secret_key']}' -H 'Content-Type: application/json'"
    world["try"] += [
        f"curl -s -X POST {BASE}/quotes {auth} -d '{body}'",
        f"curl -s -X POST {BASE}/orders {auth} -H 'Idempotency-Key: demo-order-1' -d '{body}'",
        f"curl -s -X POST {BASE}/orders "
        f'{auth} -d \'{{"quote_id": "<id from the quote>", "customer": {{"name": "Li Lei"}}}}\'',
        f"curl -s '{BASE}/fulfilment-orders?status=pending' -H 'Authorization: Bearer {supplier_key}'",
    ]


async def insight_lines(_: Principal, world: dict[str, Any]) -> None:
    """Statements, perfect orders, a coverage picture and replenishment advice of the demo week."""
    auth = f"-H 'Authorization: Bearer {world['operator_key']}'"
    supplier_key = world["suppliers"][1]["secret_key"] if len(world.get("suppliers", [])) > 1 else None
    lines = [f"curl -s '{BASE}/statements' {auth}"]
    if supplier_key:
        lines.append(f"curl -s '{BASE}/statements/csv' -H 'Authorization: Bearer {supplier_key}'")
    lines += [
        f"curl -s '{BASE}/insight/attribution?group_by=location' {auth}",
        f"curl -s '{BASE}/insight/perfect-orders?group_by=location' {auth}",
        f"curl -s '{BASE}/insight/replenishment' {auth}",
    ]
    sku = world.get("quote_sku") or world.get("scarce_sku")
    if sku:
        lines.append(f"curl -s '{BASE}/insight/coverage.svg?sku={sku}' {auth} -o coverage.svg")
    world["try"] += lines
