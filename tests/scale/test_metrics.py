"""Prometheus rendering of the per-process figures."""

from __future__ import annotations

from scale.helpers import metric_values

from lumen_ext.serving.metrics import LATENCY_BUCKETS, ServerMetrics, render_prometheus


def test_histogram_buckets_are_cumulative_and_counters_are_rendered():
    metrics = ServerMetrics()
    metrics.session_created(None)
    for seconds in (0.004, 0.02, 0.02, 3.0, 60.0):
        metrics.interaction(seconds)
    metrics.interaction(0.5, failed=True)
    cache = {
        "memory": {"hits": 3, "misses": 2, "bytes": 100},
        "redis": {"hits": 1, "errors": 0},
        "second_errors": 0,
    }
    views = {"drawings": {"replays": 4, "stale": 1}}
    clients = {"coalesced": 1499, "dropped_after_close": 3, "overflow_closes": 0}
    text = render_prometheus(metrics.snapshot(), {"sales": 2}, cache, views, None, clients)

    buckets = metric_values(text, "lumen_ext_interaction_seconds_bucket")
    by_le = {labels.split('le="')[1].rstrip('"'): v for labels, v in buckets.items()}
    assert len(by_le) == len(LATENCY_BUCKETS) + 1
    assert (by_le["0.005"], by_le["0.025"], by_le["0.5"], by_le["5.0"], by_le["+Inf"]) == (1, 3, 4, 5, 6)
    assert list(metric_values(text, "lumen_ext_interaction_seconds_count").values()) == [6]
    assert list(metric_values(text, "lumen_ext_interaction_errors_total").values()) == [1]
    assert list(metric_values(text, "lumen_ext_sessions").values()) == [2]
    hits = metric_values(text, "lumen_ext_cache_hits_total")
    assert sorted(hits.values()) == [1, 3] and any('tier="redis"' in k for k in hits)
    assert "# TYPE lumen_ext_interaction_seconds histogram" in text
    assert "# TYPE lumen_ext_cache_bytes gauge" in text
    assert list(metric_values(text, "lumen_ext_views_drawings_replays_total").values()) == [4]
    assert list(metric_values(text, "lumen_ext_client_messages_coalesced_total").values()) == [1499]
    assert "# TYPE lumen_ext_client_messages_overflow_closes_total counter" in text
    assert text.endswith("\n")
