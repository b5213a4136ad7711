"""`lumen-ext serve` for the specs of one folder, on a free loopback port, with its log watched for faults.

`lumen-ext serve` serves several specs of one folder in one process (each at ``/STEM``), so `lumen-ext test`
starts one server per folder; each spec's part of the log is what was written while that spec was tested.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from lumen_ext.gate.launch import ServerDidNotStart, launch
from lumen_ext.serving.ports import free_port

__all__ = ["SERVER_FAULT", "SERVER_START_TIMEOUT", "ServedApps", "ServerDidNotStart", "serve_folder"]

SERVER_START_TIMEOUT = 90  # seconds; importing Panel + Lumen takes 5-10 s on a busy machine
# Lines in a server log that mean the server hit an exception a viewer may not see.
SERVER_FAULT = re.compile(r"Traceback \(most recent call last\)|\bERROR\b|Exception in callback")


@dataclass
class ServedApps:
    """A running server; ``app(stem)`` is one spec's view of it, reading the log from that moment on."""

    base_url: str  # http://127.0.0.1:PORT
    log_path: Path
    process: subprocess.Popen
    stem: str = ""
    log_start: int = 0  # byte offset: the part of a shared log one spec's run wrote

    @property
    def url(self) -> str:
        return f"{self.base_url}/{self.stem}"

    def log(self) -> str:
        with self.log_path.open("rb") as log:
            log.seek(self.log_start)
            return log.read().decode(errors="replace")

    def faults(self) -> list[str]:
        return [line for line in self.log().splitlines() if SERVER_FAULT.search(line)]

    def exited(self) -> bool:
        return self.process.poll() is not None

    def app(self, stem: str) -> ServedApps:
        return replace(self, stem=stem, log_start=self.log_path.stat().st_size)


@contextlib.contextmanager
def serve_folder(
    specs: Sequence[Path], log_path: Path, extra_args: Sequence[str] = (), env: dict[str, str] | None = None
) -> Iterator[ServedApps]:
    """`lumen-ext serve SPEC...` (specs of one folder) on a free 127.0.0.1 port until the block exits.

    Raises :class:`ServerDidNotStart` (its message ends with the log) when it exits or is not ready in time.
    """
    port = free_port()
    command = [sys.executable, "-m", "lumen_ext", "serve", *map(str, specs), "--port", str(port), *extra_args]
    # Every app prints its line once the server listens: wait for the last one.
    ready = f"lumen-ext: serving {Path(specs[-1]).stem} at"
    with launch(
        command, ready, log_path, cwd=Path(specs[0]).parent, timeout=SERVER_START_TIMEOUT, env=env
    ) as process:
        yield ServedApps(f"http://127.0.0.1:{port}", log_path, process)
