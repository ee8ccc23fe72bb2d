"""Writes `sdk/_sync_client.py` from `sdk/_async_client.py`: one source for both clients.

python -m sdk._unasync           # regenerate
python -m sdk._unasync --check   # exit 1 when the generated file is out of date
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
SOURCE = HERE / "_async_client.py"
TARGET = HERE / "_sync_client.py"

#: applied in order; each is a regular expression and its replacement
RULES: list[tuple[str, str]] = [
    (
        r'^"""`AsyncGateway`: the asyncio client\..*?"""',
        '"""`Gateway`: the blocking client, GENERATED from `sdk/_async_client.py` by\n`python -m sdk._unasync`: edit that file, not this one.\n"""',
    ),
    (r"from asyncio import Lock, sleep", "from threading import Lock\nfrom time import sleep"),
    (r"\bAsyncIterator\b", "Iterator"),
    (r"\bhttpx\.AsyncClient\b", "httpx.Client"),
    (r"\bAsync(?=[A-Z])", ""),
    (r"\basync def\b", "def"),
    (r"\basync for\b", "for"),
    (r"\basync with\b", "with"),
    (r"\bawait ", ""),
    (r"__aenter__", "__enter__"),
    (r"__aexit__", "__exit__"),
    (r"\baclose\b", "close"),
    # an async generator cannot `yield from`; a plain one should
    (r"for item in page\.data:\n\s+yield item", "yield from page.data"),
]


def generate(source: str) -> str:
    for pattern, replacement in RULES:
        source = re.sub(pattern, replacement, source, flags=re.DOTALL | re.MULTILINE)
    return _tidy(source)


def _tidy(source: str) -> str:
    """Imports sorted and lines re-wrapped as the repository's ruff wants them (when ruff is
    installed, as in the dev environment), so the generated file passes the same checks."""
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        return source
    name = str(TARGET.relative_to(HERE.parent))
    for args in (["check", "--select", "I", "--fix", "--quiet"], ["format", "--quiet"]):
        source = subprocess.run(
            [ruff, *args, "--stdin-filename", name, "-"],
            input=source,
            capture_output=True,
            text=True,
            check=True,
            cwd=HERE.parent,
        ).stdout
    return source


def main(argv: list[str]) -> int:
    wanted = generate(SOURCE.read_text())
    if "--check" in argv:
        if not TARGET.exists() or TARGET.read_text() != wanted:
            print(f"{TARGET} is out of date: run python -m sdk._unasync", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
