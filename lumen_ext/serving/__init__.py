"""Serving Lumen specs with lumen-ext's behaviour: validation first, offline assets, readable errors."""
