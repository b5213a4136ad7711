"""Fuzz lumen-ext's spec loader, security lint and validator with generated and mutated specs.

Every example goes through

* ``lumen_ext.security.templating.load_spec_text`` (the loader ``lumen-ext serve`` gives Lumen): it may refuse
  with ``SpecLoadRefused``, a YAML error or a Jinja syntax error, and nothing else;
* ``lumen_ext.validation.security.unsafe_constructs`` on the safely loaded data: it never raises;
* ``lumen_ext.validation.validate_text`` (``lumen-ext validate`` without data checks): it never raises.

An uncaught exception or an example slower than ``--hang-seconds`` is a failure. Examples come from hypothesis:
spec-shaped mappings over Lumen's vocabulary with attack strings in the values, and the corpus specs with
random insertions of YAML tags, Jinja, references, anchors, deep nesting and control characters.

Usage::

    python bench/fuzz_specs.py                      # 10,000 examples (about 6-8 minutes on 2 cores)
    python bench/fuzz_specs.py --examples 500 --seed 1

Prints a table and exits 1 when any example crashed or hung.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "lumen-corpus"

KEYS = [
    "config",
    "variables",
    "sources",
    "pipelines",
    "layouts",
    "auth",
    "defaults",
    "type",
    "tables",
    "table",
    "source",
    "pipeline",
    "views",
    "filters",
    "transforms",
    "sql_transforms",
    "query",
    "expr",
    "controls",
    "parameters",
    "cache_dir",
    "initializers",
    "uri",
    "kind",
    "key",
    "secure",
    "editable",
    "on_loaded",
    "title",
    "field",
    "value",
    "default",
    "spec",
    "object",
    "objects",
    "template",
    "layout",
    "email",
]
TYPES = [
    "file",
    "json",
    "duckdb",
    "join",
    "widget",
    "constant",
    "url",
    "env",
    "cookie",
    "header",
    "query",
    "eval",
    "sql_format",
    "panel",
    "holoviews",
    "table",
    "hvplot",
    "subprocess.Popen",
    "os.system",
    "panel.pane.Markdown",
    "lumen.sources.base.FileSource",
    "a.b.c",
    "",
]
ATTACKS = [
    "!!python/object/apply:os.system ['true']",
    "{{ shell('true') }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ env('HOME') }}",
    "{{ cookie('x') }}",
    "{% for i in range(3) %}x{% endfor %}",
    "{{",
    "}}",
    "{%",
    "${",
    "$variables.q",
    "${variables.q}",
    "$source.table.field",
    "@table.to_csv('/tmp/x')",
    "../../etc/passwd",
    "/etc/passwd",
    "file:///etc/passwd",
    "s3://bucket/key",
    "COPY (SELECT 1) TO '/tmp/x'",
    "INSTALL httpfs",
    "*, (SELECT 1) AS pw",
    "a.__class__",
    ".",
    "..",
    "\x00",
    "\u202e",
    "&anchor",
    "*alias",
    "<<",
    "? ",
    "- ",
    "'",
    '"',
    "\\",
    "\t",
    "\n",
    "1e309",
    "-0",
    "~",
    "null",
    "yes",
    ":",
    "#",
]
INSERTIONS = [
    *ATTACKS,
    "\n  " * 3,
    "[" * 60,
    "{a: " * 40,
    "&a [*a]",
    "\n- &x {k: *x}\n",
    "\n<<: *nope\n",
    "\ufeff",
    "\r\n",
    "%YAML 1.1\n---\n",
    "---\n",
    "...\n",
    "!foo ",
    "!!binary AAAA",
    "!!set {a}",
    "!!omap [a: 1]",
]


def _corpus_texts() -> list[str]:
    texts = [p.read_text() for p in sorted(CORPUS.rglob("*.yaml"))] if CORPUS.is_dir() else []
    texts += [p.read_text() for p in sorted((REPO / "specs").glob("*.yaml"))]
    return texts or ["config:\n  title: x\n"]


scalars = st.one_of(
    st.sampled_from(ATTACKS + TYPES),
    st.text(max_size=30),
    st.integers(),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
)
trees = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), children, max_size=5),
    ),
    max_leaves=40,
)


@st.composite
def generated_specs(draw) -> str:
    data = draw(st.dictionaries(st.sampled_from(KEYS[:7]), trees, max_size=7))
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@st.composite
def mutated_specs(draw) -> str:
    text = draw(st.sampled_from(_corpus_texts()))
    for _ in range(draw(st.integers(1, 6))):
        choice = draw(st.integers(0, 2))
        at = draw(st.integers(0, len(text)))
        if choice == 0:
            text = text[:at] + draw(st.sampled_from(INSERTIONS)) + text[at:]
        elif choice == 1:
            text = text[:at] + text[at + draw(st.integers(1, 40)) :]
        else:
            text = text[:at] + draw(st.text(max_size=8)) + text[at:]
    return text


specs = st.one_of(generated_specs(), mutated_specs())


class Hang(Exception):
    pass


def check_loader_and_lint(text: str) -> None:
    """The safe loader refuses only with its documented errors; the lint never raises on what it loads."""
    import jinja2

    from lumen_ext.security.templating import SpecLoadRefused, load_spec_text
    from lumen_ext.validation.security import unsafe_constructs

    try:
        data = load_spec_text(text)
    except (SpecLoadRefused, yaml.YAMLError, jinja2.TemplateError, RecursionError):
        # RecursionError: PyYAML's composer on pathologically nested input; Lumen's loader hits it too.
        return
    if isinstance(data, dict):
        issues = unsafe_constructs(data, REPO / "fuzz" / "spec.yaml")
        assert isinstance(issues, list)


def check_validator(text: str) -> None:
    """``lumen-ext validate`` (without data checks) reports problems as diagnostics and never raises."""
    from lumen_ext.validation import validate_text

    report = validate_text(text, "fuzz.yaml", REPO / "fuzz", data=False)
    assert report.path == "fuzz.yaml"


def check(text: str) -> None:
    """Run one spec text through the loader, the lint and the validator; raise on any unexpected behaviour."""
    check_loader_and_lint(text)
    check_validator(text)


@dataclass
class Tally:
    examples: int = 0
    crashes: Counter = field(default_factory=Counter)
    samples: dict = field(default_factory=dict)
    hangs: int = 0
    slowest: float = 0.0


def run(examples: int, hang_seconds: float, seed_value: int | None, max_seconds: float) -> Tally:
    tally = Tally()
    deadline = time.monotonic() + max_seconds

    def on_alarm(signum, frame):
        raise Hang

    signal.signal(signal.SIGALRM, on_alarm)

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=["generate"],
    )
    @given(specs)
    def fuzz(text: str) -> None:
        if time.monotonic() > deadline:
            return
        tally.examples += 1
        start = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, hang_seconds)
        try:
            for component, checker in (
                ("loader+lint", check_loader_and_lint),
                ("validator", check_validator),
            ):
                try:
                    checker(text)
                except Hang:
                    raise
                except Exception as exc:
                    frame = traceback.extract_tb(exc.__traceback__)[-1]
                    key = f"{component}: {type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno}"
                    tally.crashes[key] += 1
                    tally.samples.setdefault(key, (text, traceback.format_exc()[-1500:]))
        except Hang:
            tally.hangs += 1
            tally.samples.setdefault("hang", text)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        tally.slowest = max(tally.slowest, time.perf_counter() - start)

    if seed_value is not None:
        fuzz = seed(seed_value)(fuzz)
    fuzz()
    return tally


def _count(tally: Tally, component: str) -> int:
    return sum(n for key, n in tally.crashes.items() if key.startswith(component + ":"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument(
        "--hang-seconds", type=float, default=10.0, help="an example slower than this is a hang"
    )
    parser.add_argument("--max-seconds", type=float, default=1800.0, help="stop generating after this long")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--show", action="store_true", help="print the failing inputs")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    tally = run(args.examples, args.hang_seconds, args.seed, args.max_seconds)
    elapsed = time.perf_counter() - started
    rows = [
        ("examples run", f"{tally.examples:,}"),
        ("uncaught exceptions, loader+lint", f"{_count(tally, 'loader+lint'):,}"),
        ("uncaught exceptions, validator", f"{_count(tally, 'validator'):,}"),
        (f"hangs (> {args.hang_seconds:g} s)", f"{tally.hangs:,}"),
        ("slowest example", f"{tally.slowest * 1000:,.0f} ms"),
        ("mean per example", f"{elapsed / max(tally.examples, 1) * 1000:,.1f} ms"),
        ("wall time", f"{elapsed:,.0f} s"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  value")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    for key, count in tally.crashes.most_common():
        print(f"  crash x{count}: {key}")
    if args.show:
        print(json.dumps(tally.samples, indent=1, default=str)[:20000])
    return 1 if tally.crashes or tally.hangs or tally.examples < min(args.examples, 1) else 0


if __name__ == "__main__":
    sys.exit(main())
