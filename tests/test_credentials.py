"""API keys: shown once, stored hashed, revocable, and confined to their owner."""

from __future__ import annotations

from typing import Any

from gateway.storage import db
from gateway.tenancy.credentials import digest


async def test_a_key_is_shown_once_and_only_its_hash_is_stored(tenant: Any) -> None:
    supplier, _ = await tenant.supplier()
    created = await tenant.call("POST", "/v1/api-keys", json={"owner": {"type": "supplier", "id": supplier["id"]}})
    assert created.status_code == 201
    body = created.json()
    key = body["key"]
    assert key.startswith("sk_") and body["prefix"] == key[:11] and body["kind"] == "secret"

    fetched = (await tenant.call("GET", f"/v1/api-keys/{body['id']}")).json()
    assert "key" not in fetched
    rows = await db().fetch("SELECT * FROM api_keys WHERE id = ?", body["id"])
    assert rows[0]["secret_hash"] == digest(key)
    assert key not in repr(rows)


async def test_revoked_key_stops_working_at_once(tenant: Any) -> None:
    supplier, key = await tenant.supplier()
    assert (await tenant.call("GET", f"/v1/suppliers/{supplier['id']}", key=key)).status_code == 200
    key_id = (await tenant.call("GET", "/v1/api-keys", key=key)).json()["data"][0]["id"]

    revoked = await tenant.call("POST", f"/v1/api-keys/{key_id}/revoke")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    answer = await tenant.call("GET", f"/v1/suppliers/{supplier['id']}", key=key)
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["www-authenticate"].startswith("Bearer")


async def test_missing_malformed_and_unknown_credentials_are_401(client: Any) -> None:
    for headers in (
        {},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer sk_" + "x" * 32},
    ):
        response = await client.get("/v1/suppliers", headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["status"] == 401


async def test_supplier_key_sees_only_its_own_supplier(tenant: Any) -> None:
    mine, key = await tenant.supplier("Mine")
    other, _ = await tenant.supplier("Other")
    listed = (await tenant.call("GET", "/v1/suppliers", key=key)).json()["data"]
    assert [s["id"] for s in listed] == [mine["id"]]
    assert (await tenant.call("GET", f"/v1/suppliers/{other['id']}", key=key)).status_code == 404
    # operator-only writes are refused outright
    assert (await tenant.call("POST", "/v1/suppliers", key=key, json={"name": "x"})).status_code == 403
    assert (
        await tenant.call("PATCH", f"/v1/suppliers/{mine['id']}", key=key, json={"version": 1, "name": "y"})
    ).status_code == 403
    # and it sees no channels at all
    await tenant.channel()
    assert (await tenant.call("GET", "/v1/channels", key=key)).json()["data"] == []


async def test_supplier_manages_only_its_own_keys(tenant: Any) -> None:
    mine, key = await tenant.supplier("Mine")
    other, _ = await tenant.supplier("Other")
    own = await tenant.call("POST", "/v1/api-keys", key=key, json={"owner": {"type": "supplier", "id": mine["id"]}})
    assert own.status_code == 201
    foreign = await tenant.call(
        "POST", "/v1/api-keys", key=key, json={"owner": {"type": "supplier", "id": other["id"]}}
    )
    assert foreign.status_code == 403
    operator = await tenant.call("POST", "/v1/api-keys", key=key, json={"owner": {"type": "operator"}})
    assert operator.status_code == 403
    listed = (await tenant.call("GET", "/v1/api-keys", key=key)).json()["data"]
    assert {k["owner"]["id"] for k in listed} == {mine["id"]}


async def test_publishable_key_reaches_no_operator_or_supplier_operation(tenant: Any) -> None:
    channel, _ = await tenant.channel()
    pk = await tenant.key("channel", channel["id"], kind="publishable")
    assert pk.startswith("pk_")
    for method, path, body in [
        ("GET", "/v1/suppliers", None),
        ("POST", "/v1/suppliers", {"name": "x"}),
        ("GET", "/v1/channels", None),
        ("GET", f"/v1/channels/{channel['id']}", None),
        ("GET", "/v1/api-keys", None),
        ("POST", "/v1/api-keys", {"owner": {"type": "channel", "id": channel["id"]}}),
        ("GET", "/v1/events", None),
    ]:
        response = await tenant.call(method, path, key=pk, json=body)
        assert response.status_code == 403, (method, path, response.text)


async def test_deactivated_supplier_key_no_longer_authenticates(tenant: Any) -> None:
    supplier, key = await tenant.supplier()
    deactivated = await tenant.call("POST", f"/v1/suppliers/{supplier['id']}/deactivate")
    assert deactivated.json()["status"] == "inactive"
    assert (await tenant.call("GET", "/v1/suppliers", key=key)).status_code == 401
    await tenant.call("POST", f"/v1/suppliers/{supplier['id']}/activate")
    assert (await tenant.call("GET", "/v1/suppliers", key=key)).status_code == 200


async def test_key_owner_must_exist_in_the_callers_tenant(tenant: Any, new_tenant: Any) -> None:
    other = await new_tenant("Other")
    foreign_supplier, _ = await other.supplier()
    response = await tenant.call(
        "POST", "/v1/api-keys", json={"owner": {"type": "supplier", "id": foreign_supplier["id"]}}
    )
    assert response.status_code == 404
    assert response.json()["detail"] == f"No such supplier: {foreign_supplier['id']}"


async def test_operator_key_owner_rules(tenant: Any) -> None:
    with_id = await tenant.call("POST", "/v1/api-keys", json={"owner": {"type": "operator", "id": "sup_" + "0" * 26}})
    assert with_id.status_code == 400 and with_id.json()["errors"][0]["field"] == "owner.id"
    without_id = await tenant.call("POST", "/v1/api-keys", json={"owner": {"type": "supplier"}})
    assert without_id.status_code == 400 and without_id.json()["errors"][0]["field"] == "owner.id"


async def test_key_filters_never_widen_what_a_supplier_sees(tenant: Any) -> None:
    mine, key = await tenant.supplier("Mine")
    other, _ = await tenant.supplier("Other")
    asked = await tenant.call("GET", f"/v1/api-keys?owner_id={other['id']}", key=key)
    assert asked.status_code == 200 and asked.json()["data"] == []
    by_operator = await tenant.call("GET", f"/v1/api-keys?owner_id={other['id']}")
    assert [k["owner"]["id"] for k in by_operator.json()["data"]] == [other["id"]]
