"""The command line as DESIGN §11 specifies it, run as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def gateway(*args: str, database_url: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GATEWAY_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args], env=env, cwd=cwd or ROOT, capture_output=True, text=True, timeout=120
    )


def test_migrate_is_idempotent(database_url: str, database: Any) -> None:
    first = gateway("migrate", database_url=database_url)
    second = gateway("migrate", database_url=database_url)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr


async def test_tenant_create_prints_json_with_a_working_operator_key(database_url: str, client: Any) -> None:
    result = gateway("tenant", "create", "Harbour Supply", "--json", database_url=database_url)
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)  # stdout holds the JSON and nothing else
    assert created["tenant"]["name"] == "Harbour Supply" and created["tenant"]["id"].startswith("ten_")
    assert created["operator_key"].startswith("sk_")
    listed = await client.get("/v1/suppliers", headers={"Authorization": f"Bearer {created['operator_key']}"})
    assert listed.status_code == 200 and listed.json()["data"] == []


async def test_demo_builds_a_tenant_whose_keys_work(database_url: str, client: Any, tmp_path: Path) -> None:
    result = gateway("demo", database_url=database_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    demo = json.loads(result.stdout)
    assert json.loads((tmp_path / "gateway-demo.json").read_text()) == demo
    op = {"Authorization": f"Bearer {demo['operator_key']}"}
    suppliers = (await client.get("/v1/suppliers", headers=op)).json()["data"]
    assert {s["id"] for s in suppliers} == {s["id"] for s in demo["suppliers"]}
    first = demo["suppliers"][0]
    own = await client.get("/v1/suppliers", headers={"Authorization": f"Bearer {first['secret_key']}"})
    assert [s["id"] for s in own.json()["data"]] == [first["id"]]
    channel = await client.get("/v1/channels", headers={"Authorization": f"Bearer {demo['channel']['secret_key']}"})
    assert [c["id"] for c in channel.json()["data"]] == [demo["channel"]["id"]]

    again = gateway("demo", "--reset", database_url=database_url, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert (await client.get("/v1/suppliers", headers=op)).status_code == 401  # the old demo tenant is gone


def test_replicas_migrating_together_take_turns(tmp_path: Path) -> None:
    """Three `gateway migrate` at once on a fresh database (what replicas starting together do):
    the lock lets one migrate and the others find nothing to do; all succeed."""
    import asyncio
    import secrets

    import asyncpg
    from conftest import ENGINE, PG_ADMIN_URL

    if ENGINE == "postgres":
        name = f"gateway_migrate_{secrets.token_hex(4)}"

        async def admin(sql: str) -> None:
            connection = await asyncpg.connect(PG_ADMIN_URL)
            try:
                await connection.execute(sql)
            finally:
                await connection.close()

        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
        url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    else:
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
    try:
        env = {**os.environ, "GATEWAY_DATABASE_URL": url}
        runs = [
            subprocess.Popen(
                [sys.executable, "-m", "gateway", "migrate"],
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for _ in range(3)
        ]
        outcomes = [(run.wait(120), run.stderr.read().decode() if run.stderr else "") for run in runs]
        assert [code for code, _ in outcomes] == [0, 0, 0], "\n".join(err for _, err in outcomes)
        applied = sum(err.count("[forwards]... ok!") for _, err in outcomes)
        assert applied > 0 and all(err.strip().endswith("schema up to date") for _, err in outcomes)
    finally:
        if ENGINE == "postgres":
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
