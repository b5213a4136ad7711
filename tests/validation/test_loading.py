"""Loading never executes anything, and positions follow PyYAML exactly (Jinja included)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lumen_ext.validation import validate_text
from lumen_ext.validation.jinja import neutralise
from lumen_ext.validation.loader import load_text


def rules(text: str, tmp_path: Path | None = None) -> list[tuple[int, int, str]]:
    report = validate_text(text, "t.yaml", tmp_path, data=tmp_path is not None)
    return [(d.line, d.column, d.rule) for d in report.diagnostics]


class TestNothingExecutes:
    def test_python_tags_are_never_constructed(self, tmp_path: Path) -> None:
        marker = tmp_path / "pwned"
        spec = (
            f'config:\n  title: !!python/object/apply:os.system ["touch {marker}"]\n'
            f"  on_loaded: !!python/name:os.getpid\n"
        )
        assert rules(spec) == [(2, 10, "unsafe-yaml-tag"), (3, 14, "unsafe-yaml-tag")]
        assert not marker.exists()

    def test_jinja_shell_is_never_run(self, tmp_path: Path) -> None:
        marker = tmp_path / "ran"
        spec = f"config:\n  title: \"{{{{ shell('touch {marker}') }}}}\"\n"
        assert rules(spec) == [(2, 11, "jinja-code-execution")]
        assert not marker.exists()

    def test_env_values_never_reach_the_output(self, monkeypatch) -> None:
        monkeypatch.setenv("LUMEN_EXT_SECRET", "s3cr3t")
        report = validate_text("config:\n  title: \"{{ env('LUMEN_EXT_SECRET') }}\"\n  ncols: oops\n")
        assert all("s3cr3t" not in d.message for d in report.diagnostics)

    def test_duckdb_table_sql_runs_only_as_a_single_described_select(self, tmp_path: Path) -> None:
        out = tmp_path / "out.csv"
        spec = (
            "sources:\n  db:\n    type: duckdb\n    tables:\n"
            f"      t: \"SELECT 1 AS a; COPY (SELECT 1) TO '{out}'\"\n"
            "    initializers:\n"
            f"      - \"COPY (SELECT 1) TO '{out}'\"\n"
            "layouts:\n  - title: T\n    source: db\n    views:\n      - type: table\n        table: t\n"
        )
        found = rules(spec, tmp_path)
        assert (5, 10, "data-unchecked") in found
        assert not out.exists()


class TestYamlSemantics:
    def test_duplicate_keys_keep_the_last_like_pyyaml(self) -> None:
        loaded = load_text("a: 1\nb: 2\na: 3\n")
        assert loaded.data == yaml.safe_load("a: 1\nb: 2\na: 3\n") == {"a": 3, "b": 2}
        assert [(p.span.line, p.rule) for p in loaded.problems] == [(3, "duplicate-key")]

    def test_merge_keys_are_not_duplicates_and_explicit_keys_win(self) -> None:
        text = "base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  x: 5\n"
        loaded = load_text(text)
        assert loaded.data == yaml.safe_load(text)
        assert loaded.problems == []
        assert loaded.locate(("use", "x")).line == 4
        assert loaded.locate(("use", "y")).line == 1

    def test_yaml_11_implicit_types_match_pyyaml(self) -> None:
        text = "a: yes\nb: 0o17\nc: 017\nd: 1_000\ne: 2024-01-02\nf: .inf\ng: ~\nh: 1:30\n"
        assert load_text(text).data == yaml.load(text, Loader=yaml.Loader)

    def test_recursive_alias_is_reported_not_looped(self) -> None:
        loaded = load_text("a: &x\n  - *x\n")
        assert loaded.data == {"a": [None]}
        assert [(p.span.line, p.rule) for p in loaded.problems] == [
            (1, "yaml-syntax")
        ]  # aliases share the anchor's node

    def test_alias_bomb_is_refused_at_the_alias_that_crosses_the_budget(self) -> None:
        lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
        loaded = load_text("\n".join(lines) + "\n")
        # Lines 2-4 add 12,330 nodes by aliases, each `*a3` 11,111 more: the eighth on line 5 crosses 100,000.
        assert not loaded.parsed
        assert [(p.span.line, p.span.column, p.rule) for p in loaded.problems] == [(5, 45, "yaml-alias-bomb")]

    def test_reused_anchors_below_the_budget_stay_shared(self) -> None:
        lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 4)]
        loaded = load_text("\n".join(lines) + "\n")
        assert loaded.parsed and loaded.problems == []
        assert loaded.data["a3"][0] is loaded.data["a2"]  # built once, shared like PyYAML does

    def test_multiple_documents_are_an_error_as_in_lumen(self) -> None:
        assert [r for _, _, r in rules("a: 1\n---\nb: 2\n")] == ["yaml-syntax"]

    def test_unhashable_key(self) -> None:
        assert [r for _, _, r in rules("? [a, b]\n: 1\n")] == ["yaml-syntax"]

    def test_empty_file_is_an_invalid_dashboard(self) -> None:
        assert [r for _, _, r in rules("")] == ["invalid-type"]


class TestValuesPyYAMLCannotBuild:
    """Each is a diagnostic at its scalar (`invalid-value`), never a traceback; checks treat the value as unknown."""

    @pytest.mark.parametrize(
        "value",
        [
            "!!float abc", "!!int x", '!!int ""', "!!bool maybe", "!!timestamp 2020-13-45", "!!timestamp x",
            "!!binary not-base64!", "!!seq x", "!!map x", "!!set x", "2024-02-30", "1" * 5000,
            "!!int [1]", "!!bool {a: 1}", "!!set {[1]: x}", "!!omap [a, b]", "!!omap [{a: !!float x}]",
        ],
    )  # fmt: skip
    def test_one_invalid_value_at_the_value(self, value: str) -> None:
        assert rules(f"config:\n  title: t\n  ncols: {value}\n") == [(3, 10, "invalid-value")]

    def test_a_key_pyyaml_cannot_build_drops_its_entry(self) -> None:
        loaded = load_text("!!int x: 1\nb: 2\n")
        assert loaded.data == {"b": 2}
        assert [(p.span.line, p.rule) for p in loaded.problems] == [(1, "invalid-value")]

    def test_valid_tags_build_as_pyyaml_does(self) -> None:
        text = "a: !!int '7'\nb: !!float 1\nc: !!set {x, y}\nd: !!omap [k: 1]\ne: !!binary AAAA\nf: !!timestamp 2024-01-02\n"
        loaded = load_text(text)
        assert loaded.problems == [] and loaded.data == yaml.safe_load(text)

    def test_a_long_merge_chain_is_refused_as_an_alias_bomb(self) -> None:
        lines = ["a0: &a0 {k0: 0}"] + [f"a{i}: &a{i} {{<<: *a{i - 1}, k{i}: {i}}}" for i in range(1, 1200)]
        assert [r for _, _, r in rules("\n".join(lines) + "\n")] == ["yaml-alias-bomb"]

    def test_a_mapping_that_merges_itself(self) -> None:
        assert (1, 4, "yaml-syntax") in rules("a: &a {<<: *a, b: 1}\n")


class TestJinjaKeepsPositions:
    @pytest.mark.parametrize(
        "text",
        [
            "a: '{{ CATALOG_DIR }}/x'\nb: {{ env('X') }}\n",
            "{# comment #}\nk: v\n{% if x %}\nz: 1\n{% endif %}\n",
            "a: {{ 1 +\n 2 }}\nb: 1\n",
        ],
    )
    def test_neutralised_text_has_the_same_shape(self, text: str) -> None:
        out = neutralise(text).text
        assert len(out) == len(text)
        assert [len(line) for line in out.splitlines()] == [len(line) for line in text.splitlines()]

    def test_unknown_name_stays_literal_like_debug_undefined(self) -> None:
        assert load_text("a: '{{ CATALOG_DIR }}/x'\n").data == {"a": "{{ CATALOG_DIR }}/x"}

    def test_position_after_a_template_is_exact(self) -> None:
        text = "config:\n  title: {{ env('T') }}\n  ncols: many\n"
        assert rules(text) == [(2, 10, "jinja-side-effect"), (3, 10, "invalid-type")]

    def test_templated_values_are_not_second_guessed(self) -> None:
        assert rules("config:\n  ncols: {{ env('N') }}\n") == [(2, 10, "jinja-side-effect")]


def test_sub_string_positions_for_references() -> None:
    spec = (
        "variables:\n  n: {type: constant, value: 1}\nsources:\n  s: {type: file, tables: {t: t.csv}}\n"
        "layouts:\n  - title: 'Top $variables.nn rows'\n    source: s\n    views: [{type: table}]\n"
    )
    report = validate_text(spec, data=False)
    # (A layout refuses references altogether: that is an `invalid-value` on the whole title.)
    [d] = [d for d in report.diagnostics if d.rule == "undefined-variable"]
    assert (d.rule, d.line, d.column, d.span.end_column) == ("undefined-variable", 6, 28, 30)
