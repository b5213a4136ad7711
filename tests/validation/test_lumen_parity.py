"""The misses of issue #17, each an invalid example: `lumen-ext validate` reports an error exactly where Lumen 1.4
itself fails, at load, at validation or while building (an error card in place of a view), and warns where Lumen
builds the dashboard. Lumen is the oracle: one subprocess builds every example (plain Lumen, no lumen-ext runtime).
"""

from __future__ import annotations

import json
import subprocess
import sys

from support.paths import REPO

from lumen_ext.validation import validate_file

INVALID = REPO / "tests" / "examples" / "invalid"
EXAMPLES = (
    "aggregate_without_by",
    "auth_plugin_unknown",
    "bins_not_pairs",
    "download_format",
    "jinja_expression_syntax",
    "jinja_statement_unclosed",
    "layout_title_reference",
    "missing_data_files_all",
    "multi_document",
    "sql_transform_columns",
    "sql_transforms_file_source",
    "widget_kind_not_panel",
)

# What Lumen does with each spec: "fails" (an exception building the Dashboard, or an error card where a view or
# layout should be) or "builds".
_LUMEN = r"""
import json, logging, os, sys, warnings
warnings.simplefilter("ignore")
logging.disable(logging.CRITICAL)
import panel as pn
from lumen.dashboard import Dashboard
outcomes = {}
for path in sys.argv[1:]:
    os.chdir(os.path.dirname(path))  # DuckDB reads relative paths from the working directory
    try:
        dashboard = Dashboard(path)
        cards = list(dashboard._main.select(pn.pane.Alert))
        outcomes[path] = ("fails: " + str(cards[0].object)[:120]) if cards else "builds"
    except Exception as exc:
        outcomes[path] = f"fails: {type(exc).__name__}"
print(json.dumps(outcomes))
"""


def test_validate_errors_where_lumen_fails(tmp_path):
    # Missing files of tables nothing reads: Lumen builds the dashboard, validate only warns.
    unused = tmp_path / "missing_unused.yaml"
    (tmp_path / "sales.csv").write_bytes((INVALID / "sales.csv").read_bytes())
    text = (INVALID / "missing_data_files_all.yaml").read_text()
    unused.write_text(text.replace("      - type: table\n        table: returns\n", ""))
    assert validate_file(unused).warnings == 3
    paths = [*(str(INVALID / f"{name}.yaml") for name in EXAMPLES), str(unused)]
    done = subprocess.run(
        [sys.executable, "-c", _LUMEN, *paths], capture_output=True, text=True, timeout=300, check=True
    )
    lumen = json.loads(done.stdout.strip().splitlines()[-1])
    for path in paths:
        errors = validate_file(path).errors
        assert lumen[path].startswith("fails") == (errors > 0), (path, lumen[path], errors)
