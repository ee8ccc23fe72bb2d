"""OAuth figures of issue 9, against a live `gateway serve` (granian, 1 worker, SQLite, 127.0.0.1):

1. tokens issued per second: `POST /oauth/token` with `grant_type=client_credentials` and Basic
   client authentication, from `--connections` concurrent keep-alive clients (httpx);
2. an authenticated `GET /v1/suppliers/{id}` with a JWT access token ÷ the same GET with the
   supplier's secret key (goal ≥ 0.9): rounds alternate the two credentials (`--rounds`), the
   load generator is benchmarks/auth_get.py's (wrk when on PATH, else its Python client), and
   the medians are compared.

    .venv/bin/python benchmarks/oauth.py [--seconds 8] [--connections 32] [--rounds 3]

Prints the machine's load average before and after: other work on this shared machine skews
both figures (say so when you quote them).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from array import array
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from auth_get import _load_process, free_port, run_python, run_wrk

HOST = "127.0.0.1"  # every request of this script goes here, and nowhere else
BIN = Path(sys.executable).parent
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def call(port: int, method: str, path: str, key: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        f"http://{HOST}:{port}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with _OPENER.open(request, timeout=30) as response:
        return json.loads(response.read())


def issue_tokens(port: int, client_id: str, secret: str, connections: int, seconds: float) -> dict[str, Any]:
    """`POST /oauth/token` over raw keep-alive connections (auth_get.py's Python load generator,
    which costs the machine far less than an HTTP library would)."""
    body = b"grant_type=client_credentials"
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    request = (
        f"POST /oauth/token HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Basic {basic}\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    count, non_2xx, errors, raw, elapsed = _load_process((port, request, connections, seconds, 10_000_000))
    latencies = array("d")
    latencies.frombytes(raw)
    ordered = sorted(latencies)
    return {
        "tokens_per_s": count / elapsed,
        "tokens": count,
        "failures": non_2xx + errors,
        "p50_ms": ordered[len(ordered) // 2] * 1000 if ordered else None,
        "p99_ms": ordered[int(len(ordered) * 0.99)] * 1000 if ordered else None,
    }


def hit(port: int, path: str, key: str, args: argparse.Namespace) -> dict[str, Any]:
    if args.wrk:
        return run_wrk(f"http://{HOST}:{port}{path}", key, args.connections, args.seconds, 1)
    return run_python(port, path, key, args.connections, args.seconds, 1, 10_000_000)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--wrk", action="store_true", help="use wrk for the GETs (must be on PATH)")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "GATEWAY_DATABASE_URL": f"sqlite:///{tmp}/gateway.db",
            "GATEWAY_RATE_LIMIT": "100000000",
            "GATEWAY_ADDRESS_RATE_LIMIT": "100000000",
            "GATEWAY_LOG_LEVEL": "WARNING",
        }
        created = json.loads(
            subprocess.run(
                [BIN / "gateway", "tenant", "create", "bench", "--json"], env=env, capture_output=True, check=True
            ).stdout
        )
        port = free_port()
        server = subprocess.Popen(
            [BIN / "gateway", "serve", "--host", HOST, "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            for _ in range(300):
                try:
                    with _OPENER.open(f"http://{HOST}:{port}/healthz", timeout=1):
                        break
                except OSError:
                    time.sleep(0.1)
            operator = created["operator_key"]
            supplier = call(port, "POST", "/v1/suppliers", operator, {"name": "Bench supplier"})
            key = call(port, "POST", "/v1/api-keys", operator, {"owner": {"type": "supplier", "id": supplier["id"]}})
            app = call(
                port,
                "POST",
                "/v1/oauth-clients",
                operator,
                {
                    "name": "bench",
                    "owner": {"type": "supplier", "id": supplier["id"]},
                    "grant_types": ["client_credentials"],
                    "scopes": ["read:parties"],
                },
            )
            issue_tokens(port, app["client_id"], app["client_secret"], 4, 1.0)  # warm-up
            issued = issue_tokens(port, app["client_id"], app["client_secret"], args.connections, args.seconds)
            print(
                f"client_credentials: {issued['tokens_per_s']:.0f} tokens/s ({issued['tokens']} in {args.seconds:.0f} s, "
                f"{args.connections} connections, p50 {issued['p50_ms']:.1f} ms, p99 {issued['p99_ms']:.1f} ms, "
                f"failures {issued['failures']})",
                flush=True,
            )
            token = httpx.post(
                f"http://{HOST}:{port}/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(app["client_id"], app["client_secret"]),
                trust_env=False,
            ).json()["access_token"]
            path = f"/v1/suppliers/{supplier['id']}"
            rates: dict[str, list[float]] = {"secret key": [], "JWT": []}
            hit(port, path, key["key"], args)  # warm-up
            hit(port, path, token, args)
            for round_ in range(args.rounds):
                for name, credential in (("secret key", key["key"]), ("JWT", token)):
                    result = hit(port, path, credential, args)
                    assert result["non_2xx"] == 0 and result["errors"] == 0, result
                    rates[name].append(result["rps"])
                    print(
                        f"round {round_ + 1} GET {path} with {name}: {result['rps']:.0f} req/s "
                        f"(p50 {result['p50_ms']:.2f} ms)",
                        flush=True,
                    )
            key_rps, jwt_rps = statistics.median(rates["secret key"]), statistics.median(rates["JWT"])
            print(
                f"median: secret key {key_rps:.0f} req/s, JWT {jwt_rps:.0f} req/s, JWT ÷ key = {jwt_rps / key_rps:.2f}"
            )
        finally:
            os.killpg(server.pid, 15)
            server.wait(15)
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
