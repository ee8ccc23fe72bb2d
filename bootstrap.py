#!/usr/bin/env python3
"""Set up and run the gateway, or its test-suite, from a fresh clone with nothing but Python.

    python3 bootstrap.py serve [gateway serve options]   # venv, install, migrate, demo data, serve
    python3 bootstrap.py test [pytest options]           # venv, install, lint, format, types, tests on SQLite and PostgreSQL
    python3 bootstrap.py lock                            # rewrite constraints.txt from the tested .venv

The virtual environment lives in `.venv` and is reinstalled only when pyproject.toml or
constraints.txt changes. Installs are held to constraints.txt: the exact versions the suite
last passed with, so a fresh clone gets what was tested (a package not listed there, such as a
dependency just added, installs at its newest allowed version until the next `lock`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed-from"
CONSTRAINTS = ROOT / "constraints.txt"


def sh(*args: str | Path, env: dict[str, str] | None = None) -> int:
    print("+", " ".join(str(a) for a in args), flush=True)
    return subprocess.call([str(a) for a in args], cwd=ROOT, env={**os.environ, **(env or {})})


def ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script runs before the venv exists
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}")
    inputs = (ROOT / "pyproject.toml").read_bytes() + (CONSTRAINTS.read_bytes() if CONSTRAINTS.exists() else b"")
    wanted = hashlib.sha256(inputs).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    pip = [BIN / "python", "-m", "pip", "--disable-pip-version-check", "-q"]
    constrained = ["-c", str(CONSTRAINTS)] if CONSTRAINTS.exists() else []
    if sh(*pip, "install", *constrained, "-e", ".[dev]") != 0:
        sys.exit("installing the project failed")
    STAMP.write_text(wanted)


def serve(args: list[str]) -> int:
    if not (ROOT / "gateway-demo.json").exists():
        # demo data on the first run; its keys are saved in gateway-demo.json
        if sh(BIN / "gateway", "demo") != 0:
            return 1
    return sh(BIN / "gateway", "serve", *args)


def ensure_browser() -> None:
    """The widget's browser tests drive Debian's `chromium` (a browser Playwright downloads
    cannot be fetched here). Install it when it is missing and we can (root, apt-get); the
    tests skip without it, and fail under CI=true."""
    if shutil.which("chromium") or shutil.which("chromium-browser"):
        return
    if os.name != "posix" or os.geteuid() != 0 or not shutil.which("apt-get"):
        print(
            "chromium is missing and cannot be installed here (needs root and apt-get): the browser tests will not run"
        )
        return
    apt = {"DEBIAN_FRONTEND": "noninteractive"}
    if sh("apt-get", "update", "-q", env=apt) != 0 or sh("apt-get", "install", "-y", "-q", "chromium", env=apt) != 0:
        print("installing chromium failed: the browser tests will not run")
        return
    # CJK glyphs for the Chinese screenshots (nice to have: the tests do not need it)
    sh("apt-get", "install", "-y", "-q", "fonts-wqy-microhei", env=apt)


def test(args: list[str]) -> int:
    ensure_browser()
    steps: list[tuple[str, list[str | Path], dict[str, str]]] = [
        ("lint", [BIN / "ruff", "check", "."], {}),
        ("format", [BIN / "ruff", "format", "--check", "."], {}),
        ("types", [BIN / "mypy", "gateway", "suppliers", "channels", "sdk"], {}),
        ("tests on SQLite", [BIN / "pytest", "-q", *args], {"GATEWAY_TEST_DATABASE": "sqlite"}),
        ("tests on PostgreSQL", [BIN / "pytest", "-q", *args], {"GATEWAY_TEST_DATABASE": "postgres"}),
    ]
    failed = []
    for name, command, env in steps:
        print(f"\n=== {name} ===", flush=True)
        if sh(*command, env=env) != 0:
            failed.append(name)
    print("\n=== summary ===")
    print("failed: " + ", ".join(failed) if failed else "all steps passed")
    return 1 if failed else 0


def lock() -> int:
    """constraints.txt from what is installed in .venv (run it after the suite passed)."""
    frozen = subprocess.run(
        [str(BIN / "python"), "-m", "pip", "freeze", "--exclude-editable", "--disable-pip-version-check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pins = sorted(
        (line for line in frozen.splitlines() if "==" in line and not line.startswith("commerce-gateway")),
        key=str.lower,
    )
    header = "# Versions the suite passed with; bootstrap.py installs with `pip install -c constraints.txt`.\n"
    header += "# Regenerate with `python3 bootstrap.py lock` after changing dependencies and running the tests.\n"
    CONSTRAINTS.write_text(header + "\n".join(pins) + "\n")
    print(f"wrote {CONSTRAINTS.name}: {len(pins)} pins")
    return 0


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in ("serve", "test", "lock"):
        print(__doc__)
        return 2
    ensure_venv()
    command, rest = sys.argv[1], sys.argv[2:]
    if command == "lock":
        return lock()
    return serve(rest) if command == "serve" else test(rest)


if __name__ == "__main__":
    raise SystemExit(main())
