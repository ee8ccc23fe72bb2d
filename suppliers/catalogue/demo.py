"""Demo data for the catalogue area (called by gateway.demo in order: catalogue, locations, offers, inventory)."""

from __future__ import annotations

from typing import Any

from gateway.tenancy.principal import Principal


async def seed(operator: Principal, world: dict[str, Any]) -> None:
    """Add this area's demo objects; `world` holds what earlier areas made and receives ours."""
