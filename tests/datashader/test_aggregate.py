"""The cached aggregate equals Datashader's own, is keyed by what changes it and by nothing that only shades it."""

from __future__ import annotations

import datashader as ds
import holoviews as hv
import numpy as np
import pytest
import xarray as xr
from holoviews.operation.datashader import rasterize

from lumen_ext import cache, hooks
from lumen_ext.cache.store import frame_to_ipc, ipc_to_frame
from lumen_ext.views import datashader as cached_views

from .conftest import make_rides

WIDTH, HEIGHT = 120, 90
VIEWPORTS = [((-74.15, -73.72), (40.58, 40.91)), ((-74.02, -73.94), (40.72, 40.78))]
REDUCTIONS = {"count": ds.count(), "mean": ds.mean("fare"), "max": ds.max("fare")}


@pytest.fixture
def installed():
    hooks.enable("views.datashader.aggregate", settings=hooks.Settings(cache=cache.CacheConfig()))
    cached_views.reset_stats()
    yield cache.active_store()
    hooks.disable("cache")


@pytest.fixture(scope="module")
def rides():
    frame = make_rides(50_000)
    rng = np.random.default_rng(3)
    return frame.assign(fare=rng.gamma(2.0, 12.0, len(frame)))


def tagged_points(frame, data_key="rides-v1"):
    element = hv.Points(frame, ["pickup_lon", "pickup_lat"], ["fare"])
    setattr(element, cached_views.DATA_KEY_ATTR, data_key)
    return element


def rasterized(element, x_range, y_range, aggregator):
    return rasterize(
        element,
        dynamic=False,
        x_range=x_range,
        y_range=y_range,
        width=WIDTH,
        height=HEIGHT,
        aggregator=aggregator,
    )


def datashader_grid(frame, x_range, y_range, aggregator) -> xr.DataArray:
    canvas = ds.Canvas(plot_width=WIDTH, plot_height=HEIGHT, x_range=x_range, y_range=y_range)
    return canvas.points(frame, "pickup_lon", "pickup_lat", aggregator)


class TestEqualsDatashader:
    @pytest.mark.parametrize("viewport", VIEWPORTS, ids=["city", "midtown"])
    @pytest.mark.parametrize("name", list(REDUCTIONS))
    def test_computed_and_cached_grids_equal_datashaders(self, installed, rides, viewport, name):
        aggregator = REDUCTIONS[name]
        expected = datashader_grid(rides, *viewport, aggregator)
        element = tagged_points(rides)

        computed = rasterized(element, *viewport, aggregator)
        assert cached_views.stats() == {"hits": 0, "aggregations": 1, "uncached": 0}
        cached = rasterized(element, *viewport, aggregator)
        assert cached_views.stats() == {"hits": 1, "aggregations": 1, "uncached": 0}

        for image in (computed, cached):
            grid = image.data[image.vdims[0].name]
            np.testing.assert_array_equal(grid.values, expected.values)
            assert grid.dtype == expected.dtype
            for dim in ("pickup_lon", "pickup_lat"):
                np.testing.assert_array_equal(grid.coords[dim].values, expected.coords[dim].values)

    def test_cached_image_equals_holoviews_uncached_image(self, installed, rides):
        untagged = hv.Points(rides, ["pickup_lon", "pickup_lat"], ["fare"])
        element = tagged_points(rides)
        rasterized(element, *VIEWPORTS[1], ds.count())
        cached = rasterized(element, *VIEWPORTS[1], ds.count())
        plain = rasterized(untagged, *VIEWPORTS[1], ds.count())
        xr.testing.assert_identical(cached.data, plain.data)
        assert cached.bounds.lbrt() == plain.bounds.lbrt()

    def test_untagged_elements_keep_holoviews_path(self, installed, rides):
        untagged = hv.Points(rides, ["pickup_lon", "pickup_lat"], ["fare"])
        rasterized(untagged, *VIEWPORTS[0], ds.count())
        rasterized(untagged, *VIEWPORTS[0], ds.count())
        assert cached_views.stats() == {"hits": 0, "aggregations": 0, "uncached": 0}

    def test_category_reductions_are_not_cached(self, installed, rides):
        element = tagged_points(rides.assign(service=rides.service.astype("category")))
        element = hv.Points(element.data, ["pickup_lon", "pickup_lat"], ["service"])
        setattr(element, cached_views.DATA_KEY_ATTR, "rides-v1")
        image = rasterized(element, *VIEWPORTS[0], ds.by("service", ds.count()))
        assert cached_views.stats() == {"hits": 0, "aggregations": 0, "uncached": 1}
        assert image is not None


class TestStoredForm:
    @pytest.mark.parametrize("name", ["count", "mean"])
    def test_round_trip_through_the_second_tier(self, rides, name):
        grid = datashader_grid(rides, *VIEWPORTS[1], REDUCTIONS[name])
        canvas = ds.Canvas(
            plot_width=WIDTH, plot_height=HEIGHT, x_range=VIEWPORTS[1][0], y_range=VIEWPORTS[1][1]
        )
        frame = ipc_to_frame(
            frame_to_ipc(cached_views.grid_to_frame(grid))
        )  # what Redis or a file tier returns
        xr.testing.assert_identical(cached_views.frame_to_grid(frame, canvas), grid)

    def test_returned_grid_is_writable_and_detached_from_the_store(self, installed, rides):
        element = tagged_points(rides)
        rasterized(element, *VIEWPORTS[0], ds.count())
        image = rasterized(element, *VIEWPORTS[0], ds.count())
        values = image.data[image.vdims[0].name].values
        values[:] = 0  # e.g. a shading step writing into its input
        again = rasterized(element, *VIEWPORTS[0], ds.count())
        assert again.data[again.vdims[0].name].values.sum() > 0


class TestKey:
    @staticmethod
    def key(data_key="d", x_range=(0.0, 1.0), y_range=(0.0, 1.0), width=10, height=8, agg=None, x="x", y="y"):
        canvas = ds.Canvas(plot_width=width, plot_height=height, x_range=x_range, y_range=y_range)
        return cached_views.aggregate_key(data_key, "points", x, y, agg or ds.count(), canvas)

    def test_same_inputs_same_key(self):
        assert self.key() == self.key()

    @pytest.mark.parametrize(
        "change",
        [
            {"data_key": "other"},
            {"x_range": (0.0, 0.5)},
            {"y_range": (0.5, 1.0)},
            {"width": 11},
            {"height": 9},
            {"agg": ds.sum("v")},
            {"agg": ds.mean("v")},
            {"x": "lon"},
        ],
        ids=lambda change: next(iter(change)) + "=" + str(next(iter(change.values()))),
    )
    def test_what_changes_the_grid_changes_the_key(self, change):
        assert self.key(**change) != self.key()

    def test_unsupported_reductions_have_no_key(self):
        assert self.key(agg=ds.by("c", ds.count())) is None
        assert self.key(agg=ds.first("v")) is None
