"""The Schemathesis CLI against a real `gateway serve` process, over HTTP on 127.0.0.1.

Same contract and checks as `test_schemathesis.py`, but through the shipped command line,
granian and a real socket, the way an outside party would fuzz the API.

Two things the CLI needs to judge the API and not the harness (FIELD-NOTES, Schemathesis 4):

- a hooks file (`SCHEMATHESIS_HOOKS`) whose `before_call` gives every call a fresh
  `Idempotency-Key`; Schemathesis reuses header values, and the 422 the contract answers to a
  key reused with another body is right;
- the credential given to the security scheme (`[auth.openapi.bearerAuth]` in a config file),
  not as `-H "Authorization: …"`: a `-H` header is added to every request, also to those that
  check that a missing `Authorization` is refused, which then "succeed" (schemathesis#2898).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

VENV_BIN = Path(sys.executable).parent
GATEWAY = str(VENV_BIN / "gateway")
SCHEMATHESIS = str(VENV_BIN / "schemathesis")
MAX_EXAMPLES = int(os.environ.get("GATEWAY_FUZZ_CLI_EXAMPLES", "20"))

HOOKS = '''
import pathlib
import uuid

import schemathesis

MARKER = pathlib.Path(__file__).with_name("hooks-ran")


@schemathesis.hook
def before_call(context, case, kwargs):
    """A fresh Idempotency-Key for every call that sends one."""
    if not MARKER.exists():
        MARKER.touch()
    if case.headers and any(name.lower() == "idempotency-key" for name in case.headers):
        headers = {k: v for k, v in case.headers.items() if k.lower() != "idempotency-key"}
        headers["Idempotency-Key"] = f"st-cli-{uuid.uuid4().hex}"
        case.headers = headers
'''

PARAM = re.compile(r"\{([^}]+)\}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _request(url: str, key: str | None = None, body: dict[str, Any] | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if body is not None else "GET")
    with urllib.request.urlopen(request, timeout=10) as response:  # only ever 127.0.0.1
        return json.loads(response.read())


def _wait_until_healthy(base: str, server: subprocess.Popen[bytes], log: Path, deadline: float = 60.0) -> None:
    started = time.monotonic()
    while time.monotonic() - started < deadline:
        if server.poll() is not None:
            pytest.fail(f"gateway serve exited with {server.returncode}:\n{log.read_text()}")
        try:
            if _request(f"{base}/healthz") == {"status": "ok"}:
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    pytest.fail(f"gateway serve did not answer /healthz within {deadline}s:\n{log.read_text()}")


def _toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a TOML basic string


def _config(base: str, key: str, own_key_id: str) -> str:
    """Credential for the security scheme, plus the tenant's real ids as dictionaries so that
    half of the calls by id reach an object (all but the fuzzer's own key: revoking it would
    end the run, not find a bug)."""
    document = _request(f"{base}/openapi.json")
    lines = ["[auth.openapi.bearerAuth]", 'bearer = "${GATEWAY_FUZZ_KEY}"', ""]
    bindings: dict[str, str] = {}
    for path in document["paths"]:
        for match in PARAM.finditer(path):
            parent = path[: match.start()].rstrip("/")
            name = match.group(1)
            if name in bindings or PARAM.search(parent) or "get" not in document["paths"].get(parent, {}):
                continue
            ids = [item["id"] for item in _request(f"{base}{parent}?limit=20", key)["data"] if item["id"] != own_key_id]
            if ids:
                bindings[name] = f"ids-{name.replace('_', '-')}"
                lines += [f"[dictionaries.{bindings[name]}]", f"values = {json.dumps(ids)}", ""]
    lines.append("[parameters]")
    lines += [
        f"{_toml_string('path.' + name)} = {{ dictionary = {_toml_string(dictionary)}, probability = 0.5 }}"
        for name, dictionary in bindings.items()
    ]
    return "\n".join(lines) + "\n"


@pytest.mark.slow
def test_schemathesis_cli_against_a_served_gateway(tmp_path: Path, database_url: str) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "GATEWAY_DATABASE_URL": database_url,  # a temp SQLite file, or a fresh PostgreSQL database
        "GATEWAY_RATE_LIMIT": "1000000",
        "GATEWAY_ADDRESS_RATE_LIMIT": "1000000",
        "GATEWAY_LOG_LEVEL": "WARNING",
    }
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [GATEWAY, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_healthy(base, server, log)
        created = subprocess.run(
            [GATEWAY, "tenant", "create", "Fuzzed over HTTP", "--json"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert created.returncode == 0, created.stderr
        key = json.loads(created.stdout)["operator_key"]
        own_key_id = _request(f"{base}/v1/api-keys", key)["data"][0]["id"]
        # something to address by id besides the tenant's first event
        _request(f"{base}/v1/suppliers", key, {"name": "Served Supplier"})
        _request(f"{base}/v1/channels", key, {"name": "Served Channel", "kind": "reseller"})

        (tmp_path / "hooks.py").write_text(HOOKS)
        (tmp_path / "schemathesis.toml").write_text(_config(base, key, own_key_id))
        fuzz = subprocess.run(
            [
                SCHEMATHESIS,
                "--config-file",
                str(tmp_path / "schemathesis.toml"),
                "run",
                f"{base}/openapi.json",
                "--checks",
                "all",
                "--max-examples",
                str(MAX_EXAMPLES),
                "--no-color",
            ],
            env={**env, "SCHEMATHESIS_HOOKS": str(tmp_path / "hooks.py"), "GATEWAY_FUZZ_KEY": key},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
        report = fuzz.stdout + fuzz.stderr
        assert fuzz.returncode == 0, f"schemathesis exited with {fuzz.returncode}:\n{report}"
        selected = re.search(r"Selected: (\d+)/(\d+)", report)
        assert selected and selected.group(1) == selected.group(2), f"not every operation was fuzzed:\n{report}"
        assert (tmp_path / "hooks-ran").exists(), f"the before_call hook never ran:\n{report}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)
