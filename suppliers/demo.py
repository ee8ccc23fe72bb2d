"""The demo's suppliers (a step of `gateway demo`): three companies, a secret key each."""

from __future__ import annotations

from typing import Any

from gateway.tenancy import services as tenancy
from gateway.tenancy.principal import Principal
from gateway.tenancy.schemas import ApiKeyCreate, SupplierOwner
from suppliers.services import suppliers as supplier_parties

SUPPLIERS = ["Fresh Valley Grocers", "Harbour Bikes & Parts", "Old Town Bakery"]


async def seed(operator: Principal, world: dict[str, Any]) -> None:
    """Leaves `world["suppliers"]`: id, name and secret key of each, in the order above."""
    made = []
    for name in SUPPLIERS:
        supplier = await supplier_parties.create(operator, {"name": name})
        key = await tenancy.create(operator, ApiKeyCreate(owner=SupplierOwner(id=supplier.id), name="demo"))
        made.append({"id": supplier.id, "name": supplier.name, "secret_key": key.key})
    world["suppliers"] = made
    world["summary"]["suppliers"] = made
    base = "http://127.0.0.1:8000/v1/suppliers"
    world["try"] += [
        f"curl -s {base} -H 'Authorization: Bearer {world['operator_key']}'",
        f"curl -s {base}/{made[0]['id']} -H 'Authorization: Bearer {made[0]['secret_key']}'",
    ]
