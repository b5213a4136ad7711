"""The wording of the schema checker's messages (:mod:`lumen_ext.spec._checker`): what a value is, what a key
expects, the "did you mean" hint, and the bounds of a number."""

from __future__ import annotations

import difflib
from typing import Any

__all__ = ["bounds_problem", "describe_expected", "kind_name", "suggest", "valid_keys_hint"]


# What analysts type for a chart or view, mapped to what hvPlot (`kind:`) and Lumen (view `type:`) call it.
# Keys are normalised (lower case, no `_`, `-` or spaces: `bar_chart`, `Bar-Chart` and `barchart` are one key).
# Each entry lists targets in order of preference with an optional note; `suggest` offers the first target that
# is among the candidates, so one table serves hvPlot kinds (`bar`) and view types (`hvplot`, with `kind: bar`).
# Edit distance alone gets these wrong (`barchart` is closest to `barh`), so a synonym wins over it.
# Checked against hvplot 0.12 kinds and Lumen 1.4 view types (tests/spec/test_synonyms.py keeps them honest).
_PIE = "hvPlot has no pie chart kind; a bar chart shows the same shares"
SYNONYMS: dict[str, tuple[tuple[str, str | None], ...]] = {
    **dict.fromkeys(
        ["barchart", "bargraph", "barplot", "bars", "column", "columnchart", "vbar", "verticalbar"],
        (("bar", None), ("hvplot", "with `kind: bar`")),
    ),
    **dict.fromkeys(
        ["hbar", "horizontalbar", "horizontalbarchart", "barhorizontal"],
        (("barh", None), ("hvplot", "with `kind: barh`")),
    ),
    **dict.fromkeys(
        ["linechart", "linegraph", "lineplot", "lines", "timeseries"],
        (("line", None), ("hvplot", "with `kind: line`")),
    ),
    **dict.fromkeys(
        ["scatterplot", "scatterchart", "scattergraph", "dotplot"],
        (("scatter", None), ("hvplot", "with `kind: scatter`")),
    ),
    **dict.fromkeys(
        ["histogram", "histo", "histplot", "histogramchart"],
        (("hist", None), ("hvplot", "with `kind: hist`")),
    ),
    **dict.fromkeys(
        ["heat", "heatmaps", "heatmapchart", "heatchart"],
        (("heatmap", None), ("hvplot", "with `kind: heatmap`")),
    ),
    **dict.fromkeys(
        ["areachart", "areaplot", "stackedarea"], (("area", None), ("hvplot", "with `kind: area`"))
    ),
    **dict.fromkeys(
        ["boxplot", "boxwhisker", "boxandwhisker", "whisker"], (("box", None), ("hvplot", "with `kind: box`"))
    ),
    **dict.fromkeys(["violinplot", "violinchart"], (("violin", None), ("hvplot", "with `kind: violin`"))),
    **dict.fromkeys(["kdeplot", "densityplot"], (("kde", None), ("hvplot", "with `kind: kde`"))),
    **dict.fromkeys(["hex", "hexplot", "hexbinplot"], (("hexbin", None), ("hvplot", "with `kind: hexbin`"))),
    **dict.fromkeys(["stepchart", "stepplot", "steps"], (("step", None), ("hvplot", "with `kind: step`"))),
    **dict.fromkeys(
        ["pie", "piechart", "piegraph", "donut", "donutchart", "doughnut"],
        (("bar", _PIE), ("hvplot", f"with `kind: bar`; {_PIE}")),
    ),
    **dict.fromkeys(
        ["datatable", "tabular", "tabulator", "datagrid", "grid", "dataframe", "tableview"],
        (("table", None),),
    ),
    **dict.fromkeys(["kpi", "metric", "bignumber"], (("indicator", None),)),
}


def _synonym(word: str, candidates: list[str]) -> str | None:
    key = "".join(ch for ch in word.lower() if ch not in "_- ")
    for target, note in SYNONYMS.get(key, ()):
        if target in candidates:
            return f"did you mean {target!r}" + (f" ({note})" if note else "") + "?"
    return None


def suggest(word: Any, candidates: list[str], synonyms: bool = False) -> str | None:
    """The "did you mean" hint: with ``synonyms`` (a `type:` or a choice such as `kind:`), an analyst's synonym
    (`barchart` -> `bar`) first; else up to three close spellings (difflib, in its deterministic order)."""
    if not isinstance(word, str) or not candidates:
        return None
    synonym = _synonym(word, candidates) if synonyms else None
    if synonym:
        return synonym
    matches = difflib.get_close_matches(word, candidates, n=3, cutoff=0.6)
    if not matches:
        return None
    return "did you mean " + " or ".join(repr(m) for m in matches) + "?"


def kind_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


_EXPECT = {
    "str": "a string",
    "int": "an integer",
    "num": "a number",
    "bool": "a boolean (true/false)",
    "date": "a date",
    "list": "a list",
    "tuple": "a list",
    "dict": "a mapping",
    "callable": "a dotted path to a callable",
    "component": "a mapping",
    "components": "a list",
    "defaults": "a list",
    "template": "a template name or mapping",
    "download": "a format name or mapping",
    "grid": "a layout name, mapping or nested list",
    "ref_or_spec": "a name or mapping",
    "filters": "a list, mapping or 'auto'",
}


def describe_expected(desc: dict[str, Any]) -> str:
    t = desc["t"]
    if t == "union":
        return " or ".join(dict.fromkeys(describe_expected(d) for d in desc["of"]))
    if t == "enum":
        return "one of " + ", ".join(repr(v) for v in desc["values"])
    if t == "components":
        return {"dict": "a mapping", "list": "a list", "list_or_dict": "a list or mapping"}[desc["shape"]]
    return _EXPECT.get(t, "a value")


def bounds_problem(value: float, desc: dict[str, Any], label: str) -> tuple[str, str, str | None] | None:
    lo, hi = desc.get("min"), desc.get("max")
    xlo, xhi = desc.get("xmin"), desc.get("xmax")
    if lo is not None and value < lo:
        return ("invalid-value", f"{label} must be at least {lo}, got {value!r}", None)
    if hi is not None and value > hi:
        return ("invalid-value", f"{label} must be at most {hi}, got {value!r}", None)
    if xlo is not None and value <= xlo:
        return ("invalid-value", f"{label} must be greater than {xlo}, got {value!r}", None)
    if xhi is not None and value >= xhi:
        return ("invalid-value", f"{label} must be less than {xhi}, got {value!r}", None)
    return None


def valid_keys_hint(fields: dict[str, Any]) -> str:
    names = [k for k, d in fields.items() if "deprecated" not in d and not d.get("legacy")]
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    return f"valid keys: {shown}"
