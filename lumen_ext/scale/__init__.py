"""Scale-out for `lumen-ext serve`: several processes sharing the stage cache, probes, metrics and data.

* :mod:`~lumen_ext.scale.processes`: ``--num-procs``/``--redis-url``/``--cache-dir`` options and the cache
  set-up that must run in each process after Bokeh forks.
* :mod:`~lumen_ext.scale.endpoints`: ``/healthz``, ``/readyz``, ``/metrics`` and ``/data/{app}/{pipeline}``,
  Tornado routes for the server's ``extra_patterns``.
* :mod:`~lumen_ext.scale.metrics`: session and interaction counters, in Prometheus text.
* :mod:`~lumen_ext.scale.pipeline_data`: a named pipeline's result for given filter values.

The second cache tier itself (:class:`~lumen_ext.cache.tiers.RedisTier`) lives with the other tiers.
"""
