"""What the security tests share: a sandbox project, payload markers, the scenario prelude, finding helpers."""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from pathlib import Path

DATA = "a,b,flag\n1,x,true\n2,y,false\n3,z,true\n4,w,false\n"
SECRET = "user,password\nadmin,hunter2\n"


@dataclass
class Sandbox:
    """``project/`` (the spec's folder, the project root), ``outside/`` (a secret) and a marker path outside both.

    Every payload in these tests would create ``marker`` (or read ``secret.csv``) if it ran.
    """

    root: Path
    project: Path
    outside: Path
    marker: Path

    @property
    def secret(self) -> Path:
        return self.outside / "secret.csv"

    def spec(self, *parts: str, name: str = "spec.yaml") -> Path:
        """Write a spec made of ``parts`` (each dedented on its own) into the project; MARKER/OUTSIDE filled in."""
        text = "".join(textwrap.dedent(part).lstrip("\n") for part in parts)
        path = self.project / name
        path.write_text(text.replace("MARKER", str(self.marker)).replace("OUTSIDE", str(self.outside)))
        return path


PRELUDE = """
import json, os, sys
from pathlib import Path
import panel as pn
from lumen_ext.security.policy import Policy
from lumen_ext.security.runtime import PolicyViolation, harden

def page_text(dashboard):
    # Everything a viewer's page would show from the dashboard body, as text.
    texts = [str(getattr(o, "object", "")) for o in dashboard._main.select(pn.pane.HTML)]
    texts += [str(getattr(o, "object", "")) for o in dashboard._main.select(pn.pane.Markdown)]
    texts += [str(getattr(o, "value", "")) for o in dashboard._main.select(pn.widgets.Tabulator)]
    return "\\n".join(texts)

def build(path, policy=None):
    harden(policy or Policy())
    from lumen import Dashboard
    try:
        dashboard = Dashboard(str(path))
    except Exception as exc:
        print("REFUSED", type(exc).__name__, exc)
        return None
    print("BUILT")
    print("PAGE", page_text(dashboard))
    return dashboard
"""


def findings(spec: Path, policy=None) -> list[tuple[int, str]]:
    """(line, rule) of every security-lint finding in ``spec``."""
    from lumen_ext.validation.security import check_file

    return [(f.line, f.issue.rule) for f in check_file(spec, policy)]


def diagnostics(spec: Path) -> list[tuple[int, str]]:
    """(line, rule) of every `lumen-ext validate` diagnostic for ``spec`` (without data checks)."""
    from lumen_ext.validation import validate_file

    return [(d.line, d.rule) for d in validate_file(spec, data=False).diagnostics]


def dump(obj) -> str:
    return json.dumps(obj, default=str)
