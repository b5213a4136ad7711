"""Types from ``views.py``/``transforms.py``/... beside a spec, read statically: what validate says, checked against
what Lumen 1.4 itself says once it has executed the modules (one subprocess for every case)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lumen_ext.security.policy import Policy
from lumen_ext.spec.local_components import ABSTRACT_BASES, read_local_components
from lumen_ext.validation import validate_file

TRANSFORMS_PY = '''
import param
from lumen.transforms import Transform
from param import Integer


class Scale(Transform):
    """Multiply a column."""

    transform_type = "scale"

    column = param.String()
    factor: param.Number = param.Number(default=1)
    repeat = Integer(default=1)  # imported from param

    def apply(self, table):
        table = table.copy()
        table[self.column] = table[self.column] * self.factor
        return table


class HiddenBase(Transform):
    __abstract = True
    transform_type = "hidden"


class Doubled(Scale):
    transform_type = "doubled"
'''

VIEWS_PY = """
import param
import lumen.views.base as lumen_views


class Banner(lumen_views.View):
    view_type = "banner"
    text = param.String()

    def get_panel(self):
        import panel as pn

        return pn.pane.Markdown(self.text)


class Wide(lumen_views.Table):
    view_type = "wide_table"


class Helper:
    pass
"""

TEMPLATE_PY = """
from panel.template import MaterialTemplate


class FancyTemplate(MaterialTemplate):
    pass
"""

HEAD = """
sources:
  s:
    type: file
    tables:
      t: data.csv
pipelines:
  p:
    source: s
    table: t
"""

# (id, pipeline transforms + layout views, the rules validate reports with local modules allowed).
CASES = [
    (
        "valid",
        """
            transforms:
              - type: scale
                column: a
        config:
          template: fancy  # FancyTemplate in template.py
        """,
        [],
    ),
    (
        "valid-components",
        """
            transforms:
              - type: scale
                column: a
                factor: 2
                repeat: 1
              - type: doubled
                column: b
        layouts:
          - title: T
            pipeline: p
            views:
              - type: banner
                text: hi
                anything: 1  # a View without a Panel type is not key-checked by Lumen
              - type: wide_table
                page_size: 5
        """,
        [],
    ),
    (
        "unknown-param",
        """
            transforms:
              - type: doubled
                column: a
                factr: 2
        layouts:
          - title: T
            pipeline: p
            views:
              - type: banner
        """,
        [(13, "unknown-key")],
    ),
    (
        "unknown-tabulator-key",
        """
        layouts:
          - title: T
            pipeline: p
            views:
              - type: wide_table
                page_sze: 5
        """,
        [(15, "unknown-key")],
    ),
    (
        "abstract-class",
        """
            transforms:
              - type: hidden
        layouts:
          - title: T
            pipeline: p
            views:
              - type: banner
        """,
        [(11, "unknown-type")],
    ),
    (
        "wrong-family",
        """
        layouts:
          - title: T
            pipeline: p
            views:
              - type: scale
        """,
        [(14, "unknown-type")],
    ),
]


def _project(tmp_path: Path, name: str, body: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "data.csv").write_text("a,b\n1,2\n3,4\n")
    (folder / "transforms.py").write_text(TRANSFORMS_PY)
    (folder / "views.py").write_text(VIEWS_PY)
    (folder / "template.py").write_text(TEMPLATE_PY)
    spec = folder / "spec.yaml"
    spec.write_text(HEAD.lstrip() + textwrap.dedent(body).lstrip("\n"))
    return spec


def _found(spec: Path, policy: Policy) -> list[tuple[int, str]]:
    report = validate_file(spec, policy=policy)
    return [(d.line, d.rule) for d in report.diagnostics if d.severity == "error"]


# Lumen's own verdicts, the modules executed as `lumen serve` does (spec folder as root and on sys.path), and the
# abstract classes of its component families; one subprocess (one import of Lumen) for every check here.
_ORACLE = r"""
import importlib, json, os, sys, warnings
warnings.simplefilter("ignore")
import yaml
from lumen.config import config
from lumen.dashboard import Dashboard
verdicts = {}
for path in sys.argv[1:]:
    folder = os.path.dirname(path)
    sys.path.insert(0, folder)
    config.root = folder
    config.load_local_modules()
    try:
        Dashboard.validate(yaml.safe_load(open(path)))
        verdicts[path] = "valid"
    except Exception as exc:
        verdicts[path] = type(exc).__name__
    sys.path.remove(folder)
bases = {"source": "lumen.sources.base:Source", "sql_transform": "lumen.transforms.sql:SQLTransform",
         "transform": "lumen.transforms.base:Transform", "filter": "lumen.filters.base:Filter",
         "view": "lumen.views.base:View", "variable": "lumen.variables.base:Variable"}
abstract = {}
for family, where in bases.items():
    module, name = where.split(":")
    base = getattr(importlib.import_module(module), name)
    for cls in [base, *base.__subclasses__()] + [c for s in base.__subclasses__() for c in s.__subclasses__()]:
        if cls.__module__.startswith("lumen.") and cls.__dict__.get(f"_{cls.__name__}__abstract"):
            abstract.setdefault(cls.__name__, family)
print(json.dumps({"verdicts": verdicts, "abstract": abstract}))
"""


@pytest.fixture(scope="module")
def lumen_says(tmp_path_factory):
    """The specs of ``CASES`` (by id) and what Lumen 1.4 says about them and about its abstract bases."""
    root = tmp_path_factory.mktemp("local_components")
    # Every case needs its own folder. Lumen registers the classes process-wide, as concrete descendants; they
    # are identical in every folder, so the first definition of each type wins, as it would.
    specs = {name: _project(root, name, body) for name, body, _ in CASES}
    done = subprocess.run(
        [sys.executable, "-c", _ORACLE, *map(str, specs.values())],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    return specs, json.loads(done.stdout.strip().splitlines()[-1])


def test_local_types_validate_as_lumen_registers_them(lumen_says):
    specs, lumen = lumen_says
    allowed = Policy(allow_local_modules=True)
    for name, _, expected in CASES:
        assert _found(specs[name], allowed) == expected, name
        assert (lumen["verdicts"][str(specs[name])] == "valid") == (expected == []), (name, lumen)


def test_abstract_bases_table_matches_lumen(lumen_says):
    """Every abstract class of Lumen's component families is in the table, under its family's base."""
    assert lumen_says[1]["abstract"] == ABSTRACT_BASES


def test_forbidden_local_modules_cost_one_error_per_module(tmp_path):
    spec = _project(tmp_path, "forbidden", CASES[1][1])
    # The default policy: no unknown-type per use, one unsafe-import per module Lumen would execute.
    assert _found(spec, Policy()) == [(1, "unsafe-import")] * 3


def test_dotted_paths_to_a_module_beside_the_spec(tmp_path):
    body = """
    layouts:
      - title: T
        pipeline: p
        views:
          - type: views.Banner
            text: hi
          - type: views.Nope
          - type: views.Helper
          - {type: transforms.Scale}
    """
    spec = _project(tmp_path, "dotted", body)
    policy = Policy(allow_local_modules=True, allowed_imports=("views", "transforms"))
    report = validate_file(spec, policy=policy)
    assert [(d.line, d.rule) for d in report.diagnostics] == [
        (16, "unknown-type"),
        (17, "unknown-type"),
        (18, "unknown-type"),
    ]
    messages = [d.message for d in report.diagnostics]
    assert "defines no class 'Nope'" in messages[0]
    assert "'Helper' in `views.py` is not a Lumen component" in messages[1]
    assert "'Scale' in `transforms.py` is a transform, not a view" in messages[2]


def test_a_module_that_does_not_parse_registers_nothing(tmp_path):
    (tmp_path / "views.py").write_text("class Broken(View:\n")
    local = read_local_components(tmp_path)
    assert local.components == []
    assert "views" in local.unreadable


@pytest.mark.parametrize("attribute", ["_panel_type = None", "_valid_keys = None"])
def test_keys_decided_at_run_time_are_not_checked(tmp_path, attribute):
    (tmp_path / "views.py").write_text(
        f"from lumen.views.base import Table\n\nclass Odd(Table):\n    view_type = 'odd'\n    {attribute}\n"
    )
    (odd,) = read_local_components(tmp_path).components
    assert odd.type_name == "odd"
    assert odd.entry["keys_checked"] is False
