"""A throwaway ``redis-server`` on a free loopback port (tests, benchmarks, trying ``--redis-url`` locally)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from lumen_ext.serving.ports import free_port

__all__ = ["LocalRedis", "local_redis"]


class LocalRedis:
    """``redis-server`` with persistence off, in its own temporary directory, bound to 127.0.0.1 only."""

    def __init__(self, executable: str | None = None, maxmemory: str = "256mb", port: int | None = None):
        self.executable = executable or shutil.which("redis-server") or "/usr/bin/redis-server"
        self.maxmemory = maxmemory
        self.port = port  # None: a free port, chosen by start()
        self._dir: tempfile.TemporaryDirectory | None = None
        self._proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> LocalRedis:
        self._dir = tempfile.TemporaryDirectory(prefix="lumen-ext-redis-")
        if self.port is None:
            self.port = free_port()
        # allkeys-lru: the cache's size budget is Redis's, and the least recently used results go first.
        options = {
            "port": str(self.port),
            "bind": "127.0.0.1",
            "dir": self._dir.name,
            "save": "",
            "appendonly": "no",
            "maxmemory": self.maxmemory,
            "maxmemory-policy": "allkeys-lru",
        }
        self._proc = subprocess.Popen(
            [self.executable, *(part for name, value in options.items() for part in (f"--{name}", value))],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
                self.stop()
                raise RuntimeError(f"redis-server exited with {self._proc.returncode}: {err}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return self
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"redis-server did not answer on port {self.port} within {timeout} s")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
        if self._proc is not None and self._proc.stderr is not None:
            self._proc.stderr.close()
        if self._dir is not None:
            self._dir.cleanup()
        self._proc, self._dir = None, None

    @property
    def directory(self) -> Path | None:
        return Path(self._dir.name) if self._dir else None


@contextlib.contextmanager
def local_redis(**kwargs) -> Iterator[LocalRedis]:
    server = LocalRedis(**kwargs).start()
    try:
        yield server
    finally:
        server.stop()
