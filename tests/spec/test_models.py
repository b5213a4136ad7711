"""The pydantic models and the fast checker agree, and the models carry Lumen's names and docs."""

from __future__ import annotations

import pydantic
import pytest
from spec.test_rules import CASES

from lumen_ext.spec import check


@pytest.mark.parametrize(
    ("spec", "expected"),
    [c for c in CASES if c[1].severity == "error" and c[1].rule != "unknown-option"],
    ids=lambda v: getattr(v, "rule", None) and f"{v.rule}:{'.'.join(map(str, v.path))}",
)
def test_models_reject_what_the_checker_rejects(spec, expected, dashboard_model):
    # `unknown-option` is per hvPlot kind, which only the checker models; the schema lists every hvPlot option.
    assert check(spec)
    with pytest.raises(pydantic.ValidationError):
        dashboard_model.model_validate(spec)


def test_models_are_named_after_lumen_classes(dashboard_model):
    from lumen_ext.spec.models import model_for

    file_source = model_for("source", "file", plugins=False)
    assert file_source.__name__ == "FileSourceSpec"
    assert file_source.model_fields["tables"].description
    assert file_source.model_config["extra"] == "forbid"
    # Lumen does not key-check hvplot_ui views or widget variables: neither do the models.
    assert model_for("view", "hvplot_ui", plugins=False).model_config["extra"] == "allow"
    assert model_for("variable", "widget", plugins=False).model_config["extra"] == "allow"


def test_schema_command_writes_file(tmp_path):
    import json

    from lumen_ext.cli import main

    out = tmp_path / "schema.json"
    assert main(["schema", "--no-plugins", "--output", str(out)]) == 0
    schema = json.loads(out.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "FileSourceSpec" in schema["$defs"]


def test_models_take_an_optional_back_end_by_name_like_the_checker(dashboard_model):
    # Lumen imports `snowflake` by name when its package is installed; the checker and the models both let it through.
    spec = {"sources": {"s": {"type": "snowflake", "account": "x"}}}
    assert [i for i in check(spec) if i.severity == "error"] == []
    dashboard_model.model_validate(spec)
