"""Real `gateway serve` processes on 127.0.0.1 for multi-process and crash tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

GATEWAY = str(Path(sys.executable).parent / "gateway")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, database_url: str, log: Path, *args: str, **env: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        environ = {
            **os.environ,
            "GATEWAY_DATABASE_URL": database_url,
            "GATEWAY_RATE_LIMIT": "100000000",
            "GATEWAY_ADDRESS_RATE_LIMIT": "100000000",
            "GATEWAY_LOG_LEVEL": "WARNING",
            **env,
        }
        self._log_file = log.open("wb")
        self.process = subprocess.Popen(
            [GATEWAY, "serve", "--host", "127.0.0.1", "--port", str(self.port), *args],
            env=environ,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        self._wait_healthy()

    def _wait_healthy(self, deadline: float = 60.0) -> None:
        started = time.monotonic()
        while time.monotonic() - started < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gateway serve exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=1) as response:  # 127.0.0.1 only
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"gateway serve did not become healthy:\n{self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flush; what a power cut does to a process group."""
        for child in _children(self.process.pid):  # the worker that holds the request goes first
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, 9)
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        for child in _children(self.process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, 9)
        self._log_file.close()


def _children(pid: int) -> list[int]:
    """Worker processes granian started (they must die with the server in every test)."""
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout
    except FileNotFoundError:
        return []
    return [int(line) for line in out.split()]


@contextlib.contextmanager
def serving(
    database_url: str, tmp: Path, count: int = 1, args: tuple[str, ...] = (), **env: str
) -> Iterator[list[Server]]:
    """`count` servers on one database; `args` are extra `gateway serve` options (`--workers 2`)."""
    servers: list[Server] = []
    try:
        for index in range(count):
            servers.append(Server(database_url, tmp / f"server-{index}.log", *args, **env))
        yield servers
    finally:
        for server in servers:
            server.stop()
