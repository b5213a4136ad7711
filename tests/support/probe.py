"""Run a snippet of Python in a fresh interpreter and read back the JSON it prints last.

Lumen, Panel and HoloViews keep process-wide state, and their deprecation warnings would trip pytest's ``-W error``:
tests that inspect or patch them do it in a subprocess.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any


def run_python(code: str, timeout: float = 120) -> Any:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
