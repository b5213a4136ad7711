"""Lock files: a record of each table's columns, their types and a fingerprint of the data, beside the spec.

`lumen-ext lock SPEC` writes ``SPEC.lock.json`` (`lockfile`: the layout; `build`: what goes in it, from the
validator's own reader, `facts` and `fingerprint`); `lumen-ext validate` uses it where the data cannot be read
(``--no-data`` in CI, a file moved away: `lumen_ext.validation.datasources`) and reports where the data has
drifted from it (`drift`). `docs/lock.md` is the user's guide.
"""
