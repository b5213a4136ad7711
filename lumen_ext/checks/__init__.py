"""The checks file beside a dashboard spec: what `lumen-ext test` asserts about its data and how fast it must be.

``NAME.checks`` (YAML) sits beside ``NAME.yaml``. Lumen 1.4's ``Dashboard.validate`` refuses any top-level key it
does not know (``_valid_keys``, dashboard.py:531), so a section inside the spec would stop plain ``lumen serve``;
a sibling file leaves the spec exactly as Lumen reads it. Its suffix is not ``.yaml``/``.yml`` on purpose: globs
such as ``lumen serve specs/*.yaml`` or ``lumen-ext validate specs/`` must not take it for a dashboard.

* :mod:`~lumen_ext.checks.files`: where a spec's checks file is, and the reverse;
* :mod:`~lumen_ext.checks.models`: the pydantic models of the file (its JSON Schema is generated into
  ``schemas/lumen-checks.schema.json``);
* :mod:`~lumen_ext.checks.evaluate`: data assertions evaluated on a pandas DataFrame.

Importing this package loads neither Panel nor Lumen (``lumen-ext validate`` checks these files too).
"""
