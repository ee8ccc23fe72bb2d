"""Suppliers: the companies in a tenant's network."""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.clock import utcnow
from gateway.events.services import emit
from gateway.ids import new_id
from gateway.records import get_one, insert_row, list_page, update_versioned
from gateway.storage import db
from gateway.tenancy.principal import Principal
from suppliers.models import Supplier
from suppliers.schemas import SupplierCreate, SupplierOut, SupplierUpdate

KIND = "supplier"


def to_out(row: dict[str, Any]) -> SupplierOut:
    return msgspec.convert(row, SupplierOut)


def _visible(principal: Principal) -> dict[str, Any]:
    scope = principal.scope("supplier")
    return {} if scope is None else {"id": scope}


async def create(principal: Principal, body: SupplierCreate) -> SupplierOut:
    now = utcnow()
    row = {
        "id": new_id("sup"),
        "tenant_id": principal.tenant_id,
        "name": body.name,
        "status": "active",
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    async with db().transaction():
        await insert_row(Supplier, row)
        out = to_out(row)
        await emit(principal.tenant_id, "supplier.created", out, supplier_id=out.id)
    return out


async def get(principal: Principal, supplier_id: str) -> SupplierOut:
    return to_out(await get_one(Supplier, KIND, principal.tenant_id, supplier_id, _visible(principal)))


async def list_(principal: Principal, limit: int, after: str | None, status: str | None) -> list[dict[str, Any]]:
    filters = _visible(principal)
    if status is not None:
        filters["status"] = status
    return await list_page(Supplier, principal.tenant_id, limit, after, filters)


async def update(principal: Principal, supplier_id: str, body: SupplierUpdate) -> SupplierOut:
    values = {"name": body.name} if body.name is not msgspec.UNSET else {}
    return await _write(principal, supplier_id, body.version, values, "supplier.updated")


async def set_status(principal: Principal, supplier_id: str, version: int | None, status: str) -> SupplierOut:
    event = "supplier.activated" if status == "active" else "supplier.deactivated"
    return await _write(principal, supplier_id, version, {"status": status}, event)


async def _write(
    principal: Principal, supplier_id: str, version: int | None, values: dict[str, Any], event: str
) -> SupplierOut:
    async with db().transaction():
        row = await update_versioned(Supplier, KIND, principal.tenant_id, supplier_id, version, values)
        out = to_out(row)
        await emit(principal.tenant_id, event, out, supplier_id=out.id)
    return out
