"""A pipeline whose result is in memory updates without its views' loading spinner; anything else as Lumen does."""

from __future__ import annotations

import inspect

import pytest

from lumen_ext import hooks
from lumen_ext.cache import runtime
from lumen_ext.cache.runtime import RUNS_ATTR, original_compute_data

from .helpers import assert_same_data

# duckdb's fetch_df calls DataFrame.drop(inplace=True), deprecated in pandas 3.1: third-party noise.
pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")


def pipeline(path):
    from lumen.pipeline import Pipeline
    from lumen.sources.base import FileSource

    return Pipeline.from_spec(
        {
            "source": FileSource(tables={"sales": str(path)}, use_dask=False),
            "table": "sales",
            "filters": [{"type": "widget", "field": "region"}],
            "transforms": [{"type": "aggregate", "by": ["product"], "columns": ["qty"], "method": "sum"}],
        }
    )


def spinner_changes(p) -> list[bool]:
    """Every value the pipeline's loading flag (which its views' spinners follow) takes from now on."""
    seen: list[bool] = []
    p._update_widget.param.watch(lambda event: seen.append(event.new), "loading")
    return seen


def test_a_result_in_memory_shows_no_spinner(cache, sales_files):
    p = pipeline(sales_files["csv"])
    seen = spinner_changes(p)
    p.filters[0].value = ["E"]  # first visit: computed, the spinner shows
    assert seen == [True, False]
    assert getattr(p, RUNS_ATTR)[-1].outcome == "computed"
    p.filters[0].value = ["W"]
    seen.clear()
    p.filters[0].value = ["E"]  # in memory: one lookup, no spinner
    assert seen == []
    assert getattr(p, RUNS_ATTR)[-1].outcome == "hit"
    fresh = pipeline(sales_files["csv"])
    fresh.filters[0].value = ["E"]
    assert_same_data(p.data, original_compute_data(fresh), exact_dtypes=True)
    assert runtime.PLAN_ATTR not in p.__dict__


def test_each_update_sees_its_own_state(cache, sales_files):
    """The plan checked for the memory answer is the one computed: alternating states never mix."""
    p = pipeline(sales_files["csv"])
    fresh = pipeline(sales_files["csv"])
    for value in (["E"], ["W"], ["E"], ["N", "S"], ["W"], ["N", "S"]):
        p.filters[0].value = value
        fresh.filters[0].value = value
        assert_same_data(p.data, original_compute_data(fresh), exact_dtypes=True)


def test_uninstall_gives_lumen_its_method_back(sales_files):
    from lumen.pipeline import Pipeline
    from support.stage_cache import install, uninstall

    lumen_method = Pipeline.__dict__["_update_data"]
    install()
    assert hooks.is_enabled("cache.instant-updates") and Pipeline.__dict__["_update_data"] is not lumen_method
    uninstall()
    assert not hooks.is_enabled("cache.instant-updates") and Pipeline.__dict__["_update_data"] is lumen_method


def test_lumen_still_updates_as_the_replacement_assumes():
    """The replacement repeats Lumen's steps minus the spinner: review it when Lumen's method changes."""
    from lumen.pipeline import Pipeline

    source = inspect.getsource(Pipeline._update_data)
    for step in (
        "if self._update_widget is None or self._update_widget.loading:",
        "if not force and not self.auto_update and not self.update:",
        "self._update_widget.loading = True",
        "f._sync_refs()",
        "new_data = self._compute_data()",
        "with unlocked():",
        "state.config.on_update",
        "self._stale = False",
        "self._update_widget.loading = False",
    ):
        assert step in source, f"Lumen's Pipeline._update_data changed ({step!r}): review instant_updates"
