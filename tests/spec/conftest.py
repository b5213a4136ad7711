"""Fixtures for the spec tests."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="session")
def dashboard_model():
    # Built once: creating ~200 pydantic models takes a few seconds.
    from lumen_ext.spec.models import dashboard_model

    return dashboard_model(plugins=False)


@pytest.fixture(scope="session")
def schema_validator():
    """A validator of the committed JSON Schema (the file editors and check-jsonschema read)."""
    jsonschema = pytest.importorskip("jsonschema")
    from support.paths import REPO

    from lumen_ext.spec.schema import SCHEMA_ID

    schema = json.loads((REPO / "schemas" / "lumen-spec.schema.json").read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == SCHEMA_ID
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)
