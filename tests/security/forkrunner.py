"""Run test scenarios in forks of one process that has already imported Lumen.

Lumen keeps global state (sources, defaults, class-level params), so every scenario needs a fresh interpreter;
paying Panel's and Lumen's import (5-8 s here) for each of ~30 scenarios would blow the test area's time budget.
One worker process imports them once and forks per scenario: each child starts from the same clean state,
runs its script, and exits. A child that runs past its time limit is killed by SIGALRM.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT = 120  # seconds to import Panel + Lumen on a busy 2-core machine
SCENARIO_TIMEOUT = 90

_WORKER = r"""
import json, logging, os, runpy, signal, sys, traceback, warnings
warnings.simplefilter("ignore")  # third-party noise (Pandas4Warning, ...) is not what these tests check
import panel, lumen, lumen.dashboard, lumen.sources.duckdb  # the expensive imports, paid once
import lumen_ext.security.runtime
print("ready", flush=True)
for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            signal.alarm(request["timeout"])
            os.chdir(request["cwd"])
            out = os.open(request["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(out, 1)
            os.dup2(out, 2)
            logging.basicConfig(level=logging.INFO, stream=sys.stderr, force=True)
            runpy.run_path(request["script"], run_name="__main__")
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    print(json.dumps({"rc": os.waitstatus_to_exitcode(status)}), flush=True)
"""


@dataclass
class Outcome:
    rc: int
    output: str


class ForkRunner:
    def __init__(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-c", _WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        line = self._readline(START_TIMEOUT)
        if line.strip() != "ready":
            self.close()
            raise RuntimeError(f"the fork worker did not start: {line!r}")

    def _readline(self, timeout: float) -> str:
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            raise TimeoutError(f"no answer from the fork worker within {timeout}s")
        return self.process.stdout.readline()

    def run(self, script: str, cwd: Path, timeout: int = SCENARIO_TIMEOUT) -> Outcome:
        """Run ``script`` (Python source) in a fresh fork with ``cwd`` as working directory."""
        path = cwd / "_scenario.py"
        out = cwd / "_scenario.out"
        path.write_text(script)
        request = {"script": str(path), "cwd": str(cwd), "out": str(out), "timeout": timeout}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        answer = json.loads(self._readline(timeout + 10))
        return Outcome(answer["rc"], out.read_text(errors="replace"))

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()
