"""Fixtures for the spec tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def dashboard_model():
    # Built once: creating ~200 pydantic models takes a few seconds.
    from lumen_ext.spec.models import dashboard_model

    return dashboard_model(plugins=False)
