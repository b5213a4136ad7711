"""The small "sales by product" dashboard several test areas serve, cache and precache."""

SALES_SPEC = """\
sources:
  sales:
    type: file
    tables:
      sales: sales.csv
pipelines:
  by_product:
    source: sales
    table: sales
    filters:
      - type: widget
        field: region
    transforms:
      - type: aggregate
        by: [product]
        method: sum
layouts:
  - title: Sales
    pipeline: by_product
    views:
      - type: table
"""
