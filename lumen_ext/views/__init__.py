"""Run-time improvements to Lumen's views: patching data into existing plots, cached Datashader aggregation."""
