"""lumen-ext: declarative dashboards on HoloViz Lumen, checked like a compiler and served fast.

Importing this package must stay cheap: the validator imports it and may not pull in Panel or Bokeh.
"""

__version__ = "0.1.0"
