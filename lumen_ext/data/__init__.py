"""Datasets for the example specs: real samples in ``sources/`` and a large synthetic ride-hailing table.

Keep this module import-light: ``lumen-ext data`` and the tests import it without Panel or Lumen.
"""

from lumen_ext.data.synthetic import DEFAULT_ROWS, ensure_synthetic, synthetic_path

__all__ = ["DEFAULT_ROWS", "ensure_synthetic", "synthetic_path"]
