from __future__ import annotations

from typing import Any


async def test_operator_creates_reads_and_lists_suppliers(tenant: Any) -> None:
    created = await tenant.call("POST", "/v1/suppliers", json={"name": "Fresh Valley"})
    assert created.status_code == 201
    body = created.json()
    assert body["id"].startswith("sup_") and body["status"] == "active" and body["version"] == 1

    fetched = await tenant.call("GET", f"/v1/suppliers/{body['id']}")
    assert fetched.json() == body
    listed = await tenant.call("GET", "/v1/suppliers")
    assert [s["id"] for s in listed.json()["data"]] == [body["id"]]
