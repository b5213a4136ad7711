"""Every YAML block in `docs/*.md` is checked: whole specs validate and build, fragments validate in their spec.

Each YAML block's first line says what it is (`support.doc_blocks`; explained to readers at the end of
`docs/authoring.md`): `# spec: NAME` (a whole spec, saved as `mydash/NAME.yaml`), `# fragment: NAME` (keys merged
into spec NAME as the earlier fragments left it: mappings merge, anything else is replaced, so a step can add one
pipeline without repeating the others) or `# not-a-spec: WHAT`. An optional second line
`# validate says: RULE, ...` marks a block that shows a mistake on purpose: validate must report exactly those
rules; a fenced block right after it that starts with the spec's path must be validate's text output, verbatim.

Examples run in a project of their own under `tmp_path`: `lumen-ext.toml` (the project root), copies of the
files in `sources/`, and the specs in `mydash/`, so `../sources/...` resolves as it does for a reader working in
the repository. Validation is in-process (cheap); a clean spec, and each fragment chain's last state, is built by
Lumen in a fresh interpreter (`support.lumen_build`, as `tests/specs/test_build.py` does), about 4 CPU-s each.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
import yaml
from support.doc_blocks import SPEC_FOLDER, YAML_LANGUAGES, Example, fenced_blocks, marker
from support.lumen_build import VERIFY, build
from support.paths import REPO

from lumen_ext.validation import RULES, validate_paths
from lumen_ext.validation.reporters import TextReporter

DOCS = sorted((REPO / "docs").glob("*.md"))
BLOCKS = [block for doc in DOCS for block in fenced_blocks(doc)]
MARKED = [(block, marker(block)) for block in BLOCKS if block.language in YAML_LANGUAGES]
EXAMPLES = [found for _, found in MARKED if isinstance(found, Example)]
SPECS = {e.name: e for e in EXAMPLES if e.kind == "spec"}
CHECKED = [e for e in EXAMPLES if e.kind != "not-a-spec"]
# A bare fence holding a spec would escape every check below: it must be labelled ```yaml.
SPEC_KEYS = {"sources", "pipelines", "layouts", "config", "variables", "defaults", "auth", "targets"}


def _merged(base: object, extra: object) -> object:
    if isinstance(base, dict) and isinstance(extra, dict):
        return {**base, **{k: _merged(base.get(k), v) for k, v in extra.items()}}
    return extra


def _fragments_of(name: str) -> list[Example]:
    return [e for e in EXAMPLES if e.kind == "fragment" and e.name == name]


def spec_text(example: Example) -> str:
    """What the reader has in `mydash/NAME.yaml` at this block: the block itself, or the spec with every clean
    fragment of it up to this one merged in (a fragment showing a mistake is not carried forward)."""
    if example.kind == "spec":
        return example.block.text
    data = yaml.safe_load(SPECS[example.name].block.text)
    for fragment in _fragments_of(example.name):
        if fragment.says is None or fragment is example:
            data = _merged(data, yaml.safe_load(fragment.block.text))
        if fragment is example:
            break
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)


def make_project(root: Path) -> Path:
    """A project folder as the guide's reader has it: the data in `sources/`, the specs in `mydash/`."""
    (root / "lumen-ext.toml").write_text("# the project root for lumen-ext's path checks\n", encoding="utf-8")
    (root / "sources").mkdir()
    for data in (REPO / "sources").iterdir():
        if data.is_file() and data.suffix in (".csv", ".parquet", ".json"):
            shutil.copy2(data, root / "sources" / data.name)
    (root / SPEC_FOLDER).mkdir()
    return root


def output_after(example: Example) -> str | None:
    """The fenced block right after ``example`` in its document when it is validate's output for it."""
    later = [b for b in BLOCKS if b.doc == example.block.doc and b.line > example.block.line]
    if later and later[0].text.startswith(f"{example.spec_path}:"):
        return later[0].text
    return None


def test_every_yaml_block_is_marked() -> None:
    problems = [f"{block.where}: {found}" for block, found in MARKED if isinstance(found, str)]
    names = [e.name for e in EXAMPLES if e.kind == "spec"]
    problems += [f"spec `{n}` is declared twice" for n in sorted({n for n in names if names.count(n) > 1})]
    for e in EXAMPLES:
        if e.kind == "fragment" and (e.name not in SPECS or SPECS[e.name].block.doc != e.block.doc):
            problems.append(
                f"{e.block.where}: fragment of `{e.name}`, which no `# spec:` block of its page declares"
            )
        elif e.kind == "fragment" and SPECS[e.name].block.line > e.block.line:
            problems.append(f"{e.block.where}: fragment of `{e.name}` comes before the spec")
        if e.kind == "not-a-spec" and yaml.safe_load(e.block.text) is None:  # a YAML error fails too
            problems.append(f"{e.block.where}: no YAML after the marker")
        unknown = sorted((e.says or set()) - set(RULES))
        if unknown:
            problems.append(f"{e.block.where}: `validate says` names rules that do not exist: {unknown}")
    for block in BLOCKS:
        if block.language:
            continue
        try:
            loaded = yaml.safe_load(block.text)
        except yaml.YAMLError:
            continue
        if isinstance(loaded, dict) and SPEC_KEYS & set(loaded):
            problems.append(f"{block.where}: a spec in a bare fence: label it ```yaml and mark it")
    assert not problems, "\n".join(problems)
    assert SPECS, "the docs show no whole spec: the parser lost them"


@pytest.mark.parametrize("example", CHECKED, ids=lambda e: e.id)
def test_example_validates(example: Example, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(tmp_path)
    (project / example.spec_path).write_text(spec_text(example), encoding="utf-8")
    monkeypatch.chdir(project)  # paths in the report are relative to the CWD, as when the reader runs it
    report = validate_paths([example.spec_path])
    text = io.StringIO()
    TextReporter(text).report(report)
    said = {d.rule for d in report.diagnostics}
    assert said == set(example.says or ()), f"{example.block.where}: validate reports\n{text.getvalue()}"
    shown = output_after(example)
    if shown is not None:
        assert text.getvalue() == shown, (
            f"{example.block.where}: the output shown is not what validate prints"
        )


def _builds() -> list[Example]:
    """Clean specs (errors stop a build; warnings do not), and the last clean fragment of each spec."""
    errors = {r for r, rule in RULES.items() if rule.severity == "error"}
    out = [e for e in SPECS.values() if not (e.says or set()) & errors]
    for name in SPECS:
        clean = [f for f in _fragments_of(name) if f.says is None]
        out += clean[-1:]
    return out


@pytest.mark.skipif(not VERIFY.exists(), reason="needs ../shared/lumen-corpus/tools/verify.py")
@pytest.mark.slow
@pytest.mark.parametrize("example", _builds(), ids=lambda e: e.id)
def test_example_builds(example: Example, tmp_path: Path) -> None:
    project = make_project(tmp_path)
    spec = project / example.spec_path
    spec.write_text(spec_text(example), encoding="utf-8")
    # From the spec's folder, where `lumen-ext serve` runs it (DuckDB reads relative paths from there).
    result = build(spec, cwd=spec.parent)
    assert result["ok"], result["errors"]
    assert result["n_layouts"] >= 1
    assert result["views"], "no view was rendered"
    empty = [v for v in result["views"] if v["rows"] == 0]
    assert not empty, f"views without data: {empty}"
