"""Settings are validated before any command does anything: one line naming the variable, the
value and what is expected, exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from gateway.settings import Settings, SettingsError
from gateway.storage import postgres_config


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("GATEWAY_RATE_LIMIT_WINDOW_SECONDS", "0", "an integer from 1 to 86400"),
        ("GATEWAY_RATE_LIMIT", "ten", "an integer from 1 to 100000000"),
        ("GATEWAY_POOL_SIZE", "-3", "an integer from 1 to 1000"),
        ("GATEWAY_BACKGROUND", "maybe", "true or false"),
        ("GATEWAY_LOG_LEVEL", "loud", "one of"),
        ("GATEWAY_DATABASE_URL", "mysql://db/x", "sqlite:///PATH or postgresql://"),
        ("GATEWAY_REDIS_URL", "127.0.0.1:6379", "redis://"),
        ("GATEWAY_REDIS_TIMEOUT_SECONDS", "0", "a number > 0 and ≤ 10"),
        ("GATEWAY_TRUSTED_PROXIES", "10.0.0.0/8,proxy", "IP addresses or networks"),
        ("GATEWAY_IDEMPOTENCY_RETENTION_HOURS", "1", "an integer from 24 to"),
        ("GATEWAY_METRICS_TOKEN", "short", "at least 16 characters"),
    ],
)
def test_a_bad_value_names_variable_value_and_expectation(variable: str, value: str, expected: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({variable: value})
    message = str(refused.value)
    assert message.startswith(f"{variable}={value!r}: expected ") and expected in message
    assert "\n" not in message


def test_good_values_are_typed() -> None:
    settings = Settings.from_env(
        {
            "GATEWAY_BACKGROUND": "off",
            "GATEWAY_LOG_LEVEL": "debug",
            "GATEWAY_RATE_LIMIT": " 25 ",
            "GATEWAY_REDIS_TIMEOUT_SECONDS": "0.1",
            "GATEWAY_TRUSTED_PROXIES": "10.0.0.0/8, ::1",
            "GATEWAY_UNRELATED": "x",
        }
    )
    assert settings.background is False and settings.log_level == "DEBUG" and settings.rate_limit == 25
    assert settings.redis_timeout_seconds == 0.1 and len(settings.trusted_proxy_networks) == 2


def test_postgres_url_keeps_its_query_parameters() -> None:
    url = "postgresql://app:s%40cret@/orders?host=/run/postgresql&sslmode=require"
    config = postgres_config(url)
    assert config["dsn"] == url and config["database"] == "orders"


@pytest.mark.parametrize("command", [["migrate"], ["serve", "--port", "0"], ["worker"], ["openapi", "--output", "-"]])
def test_every_command_refuses_a_bad_setting_before_starting(command: list[str]) -> None:
    env = {**os.environ, "GATEWAY_RATE_LIMIT_WINDOW_SECONDS": "0"}
    done = subprocess.run(
        [sys.executable, "-m", "gateway", *command], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "gateway: GATEWAY_RATE_LIMIT_WINDOW_SECONDS='0': expected an integer from 1 to 86400"
    ]
    assert done.stdout == ""
