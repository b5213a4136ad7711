"""A secure variable never reaches displayed text: which places are displayed, which variables carry a secret,
what the server masks, and where `lumen-ext validate` points (rule ``secret-displayed``)."""

from __future__ import annotations

import textwrap

import pytest
import yaml

from lumen_ext.security.secret_display import (
    MASK,
    conceal,
    displayed_strings,
    secret_env_keys,
    secret_variables,
)
from lumen_ext.security.templating import load_spec_text
from lumen_ext.validation import validate_text

SECRET = {"type": "env", "key": "LX_TOKEN", "secure": True}


def spec(text: str) -> dict:
    return yaml.safe_load(textwrap.dedent(text))


def shown_paths(data: dict) -> list[tuple]:
    return [d.path for d in displayed_strings(data)]


class TestDisplayedPlaces:
    @pytest.mark.parametrize(
        ("text", "shown", "hidden"),
        [
            (
                "config: {title: T, logo: L}",
                [("config", "title"), ("config", "logo")],
                [],
            ),
            (
                "layouts: [{title: T, source: {type: duckdb, uri: U}, views: [{type: table, title: V}]}]",
                [("layouts", 0, "title"), ("layouts", 0, "views", 0, "title")],
                [("layouts", 0, "source", "uri")],
            ),
            (
                "layouts: [{title: T, views: {a: {type: hv_overlay, layers: [{type: hvplot, title: L}]}}}]",
                [("layouts", 0, "title"), ("layouts", 0, "views", "a", "layers", 0, "title")],
                [("layouts", 0, "views", "a", "type")],
            ),
            (
                "pipelines: {p: {source: s, table: t, filters: [{type: widget, field: f, label: L}]}}",
                [("pipelines", "p", "filters", 0, "field"), ("pipelines", "p", "filters", 0, "label")],
                [("pipelines", "p", "source"), ("pipelines", "p", "table")],
            ),
            (
                "pipelines: {p: {filters: [{type: constant, field: f, value: V}]}}",
                [],
                [("pipelines", "p", "filters", 0, "value")],
            ),
            (
                "config: {sync_with_url: true}\npipelines: {p: {filters: [{type: constant, field: f, value: V}]}}",
                [("pipelines", "p", "filters", 0, "value")],
                [],
            ),
            (
                "pipelines: {p: {transforms: [{type: query, query: Q, controls: [query]}, {type: sort, by: B}]}}",
                [("pipelines", "p", "transforms", 0, "query")],
                [("pipelines", "p", "transforms", 1, "by")],
            ),
            (
                "variables: {w: {type: widget, kind: TextInput, value: V}, c: {type: constant, default: D}}",
                [("variables", "w", "value")],
                [("variables", "w", "kind"), ("variables", "c", "default")],
            ),
            (
                "sources: {s: {type: duckdb, uri: U, filters: [{type: widget, field: f}]}}\nauth: {email: E}",
                [("sources", "s", "filters", 0, "field")],
                [("sources", "s", "uri"), ("auth", "email")],
            ),
        ],
        ids=[
            "config",
            "layout-and-view-not-their-source",
            "overlay-layers",
            "widget-filter",
            "constant-filter-without-url-sync",
            "constant-filter-synced-to-url",
            "transform-controls-only",
            "widget-variable-not-constant",
            "legacy-source-filters-not-source-or-auth",
        ],
    )
    def test_displayed_or_not(self, text, shown, hidden):
        paths = shown_paths(spec(text))
        for path in shown:
            assert path in paths
        for path in hidden:
            assert path not in paths

    @pytest.mark.parametrize(
        "text",
        [
            "layouts: [{views: 3}]",
            "layouts: [{views: text}]",
            "variables: {v: {type: [widget]}}",
            "config: 1",
        ],
    )
    def test_any_yaml_shape_is_walked_without_error(self, text):
        list(displayed_strings(spec(text)))


class TestSecretVariables:
    def test_secure_variables_and_their_aliases(self):
        data = {
            "variables": {
                "token": SECRET,
                "alias": {"type": "constant", "default": "$variables.token"},
                "alias2": "$variables.alias",  # Lumen's short form: a constant
                "shown": {"type": "widget", "kind": "TextInput", "value": "$variables.token"},
                "plain": {"type": "env", "key": "HOME"},
            }
        }
        assert secret_variables(data) == {"token": "token", "alias": "token", "alias2": "token"}
        assert secret_env_keys(data) == {"LX_TOKEN": "token"}

    def test_a_carried_value_makes_an_alias(self):
        data = {"variables": {"token": SECRET, "copy": {"type": "constant", "default": "TOKEN-1"}}}
        assert (
            secret_variables(data, lambda path, text: "token" if "TOKEN-1" in text else None)["copy"]
            == "token"
        )


SPEC = """
variables:
  token: {type: env, key: LX_TOKEN, secure: true}
  alias: {type: constant, default: $variables.token}
config:
  title: Sales
sources:
  db: {type: duckdb, uri: $variables.token, tables: {t: SELECT 1 AS a}}
pipelines:
  p: {source: db, table: t, filters: [{type: widget, field: a, label: $variables.alias}]}
layouts:
  - title: Sales
    pipeline: p
    views:
      - {type: table, title: $variables.token}
      - {type: table, title: Plain}
"""


class TestConceal:
    def test_displayed_references_are_masked_and_sources_keep_theirs(self):
        data = spec(SPEC)
        masked = conceal(data)
        assert masked["layouts"][0]["views"][0]["title"] == MASK
        assert masked["pipelines"]["p"]["filters"][0]["label"] == MASK
        assert masked["layouts"][0]["views"][1]["title"] == "Plain"
        assert masked["sources"]["db"]["uri"] == "$variables.token"
        assert masked["variables"]["alias"]["secure"] is True, "an alias is secure too (kept out of exports)"
        assert data["layouts"][0]["views"][0]["title"] == "$variables.token", "the caller's spec is untouched"

    def test_nothing_to_mask_is_the_same_spec(self):
        data = spec("variables: {token: {type: env, key: K, secure: true}}\nconfig: {title: T}")
        assert conceal(data) is data

    def test_masking_is_logged_once_per_place(self, caplog):
        with caplog.at_level("WARNING", logger="lumen_ext.security"):
            conceal(spec(SPEC.replace("Sales\n    pipeline", "Logged once\n    pipeline")))
            conceal(spec(SPEC.replace("Sales\n    pipeline", "Logged once\n    pipeline")))
        lines = [r.getMessage() for r in caplog.records if "layouts[0].views[0].title" in r.getMessage()]
        assert len(lines) <= 1  # once per process: an earlier test may have logged this place already
        assert all("secure variable 'token' reaches a view's `title`" in line for line in lines)


class TestLoaderEnv:
    TEXT = textwrap.dedent(
        """
        variables:
          token: {type: env, key: LX_TOKEN, secure: true}
          copy: {type: constant, default: "{{ env('LX_TOKEN') }}"}
          public: {type: env, key: LX_PUBLIC}
        config:
          title: "Sales {{ env('LX_TOKEN') }} / {{ env('LX_PUBLIC') }}"
        sources:
          db: {type: duckdb, uri: "{{ env('LX_TOKEN') }}"}
        """
    )

    def test_env_values_of_secure_keys_are_masked_where_shown(self):
        environ = {"LX_TOKEN": "tok-123", "LX_PUBLIC": "open"}
        data = load_spec_text(self.TEXT, allowed_env=("LX_TOKEN", "LX_PUBLIC"), environ=environ)
        assert data["config"]["title"] == f"Sales {MASK} / open"
        assert data["sources"]["db"]["uri"] == "tok-123", "the source gets the value"
        assert data["variables"]["copy"] == {"type": "constant", "default": "tok-123", "secure": True}
        # The alias is now secure, so the reference hook masks `$variables.copy` in displayed places.
        assert conceal({**data, "layouts": [{"title": "$variables.copy"}]})["layouts"][0]["title"] == MASK


class TestValidate:
    def diagnostics(self, text: str) -> list[tuple[int, int, str]]:
        report = validate_text(textwrap.dedent(text).lstrip(), "spec.yaml", data=False)
        return [(d.line, d.column, d.rule) for d in report.diagnostics if d.rule == "secret-displayed"]

    def test_each_reference_is_reported_where_it_is_written(self):
        found = self.diagnostics(
            """
            variables:
              token: {type: env, key: LX_TOKEN, secure: true}
            config:
              title: "Sales ({{ env('LX_TOKEN') }})"
            sources:
              db: {type: duckdb, uri: $variables.token, tables: {t: SELECT 1 AS a}}
            layouts:
              - title: Sales
                source: db
                views:
                  - type: table
                    table: t
                    title: "Rows $variables.token"
            """
        )
        assert found == [(4, 18, "secret-displayed"), (13, 22, "secret-displayed")]

    def test_a_secret_used_by_its_source_only_is_fine(self):
        assert (
            self.diagnostics(
                SPEC.replace("$variables.alias", "A").replace("title: $variables.token", "title: T")
            )
            == []
        )

    def test_the_rule_is_an_error(self):
        report = validate_text(textwrap.dedent(SPEC).lstrip(), "spec.yaml", data=False)
        severities = {d.severity for d in report.diagnostics if d.rule == "secret-displayed"}
        assert severities == {"error"}
