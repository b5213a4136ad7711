"""Start a server process, wait until its log says it is ready, and stop it afterwards.

One loop for every launcher: `lumen-ext test` (`lumen_ext.gate.server`), the tests (``support.browser``,
``tests/serving/test_lumen_serve_door.py``) and ``bench/bench_e2e.py``. They differ in the command, the line that
means "ready" and the environment, not in how a server is waited for or stopped.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["ServerDidNotStart", "launch"]


class ServerDidNotStart(RuntimeError):
    """The server exited, or did not print its ready line in time; the message ends with its log."""


@contextlib.contextmanager
def launch(
    command: list[str],
    ready_text: str | None,
    log_path: Path,
    *,
    cwd: Path,
    timeout: float,
    env: dict[str, str] | None = None,
    poll: float = 0.2,
    stop_timeout: float = 15,
) -> Iterator[subprocess.Popen]:
    """Run ``command`` in ``cwd``, its output in ``log_path``, until the block exits.

    Waits up to ``timeout`` seconds for ``ready_text`` in the log (``None``: does not wait, for a server expected
    to fail at start). ``env`` is added to this process's environment, with unbuffered Python output so the
    ready line is in the log when it is printed. On the way out the server is terminated, then killed if it has
    not exited after ``stop_timeout`` seconds.
    """
    environ = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    with log_path.open("w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environ, cwd=cwd)
    try:
        if ready_text is not None:
            _wait_for(ready_text, process, command, log_path, timeout, poll)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=stop_timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=stop_timeout)


def _wait_for(
    ready_text: str,
    process: subprocess.Popen,
    command: list[str],
    log_path: Path,
    timeout: float,
    poll: float,
) -> None:
    name = " ".join(Path(part).name for part in command[:4])
    deadline = time.monotonic() + timeout
    while ready_text not in (log := log_path.read_text(errors="replace")):
        if process.poll() is not None:
            raise ServerDidNotStart(f"{name} exited with {process.returncode}:\n{log[-3000:]}")
        if time.monotonic() > deadline:
            raise ServerDidNotStart(f"{name} did not start within {timeout:g}s:\n{log[-3000:]}")
        time.sleep(poll)
