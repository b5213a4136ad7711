"""What Lumen 1.4 keeps from one session to the next that a changed file makes stale, and forgetting it.

Each session builds its dashboard from the spec file again (``Dashboard(path)``, LUMEN-NOTES §1.1), and the stage
cache keys every result by the stat of the files it read (``lumen_ext.cache.fingerprint``), so neither a spec nor a
data file needs forgetting. Three things outlive sessions in the process:

* ``config._modules`` (lumen/config.py:197-213): ``load_local_modules`` executes ``views.py``, ``sources.py``, ...
  beside the spec once per process and skips a path it has executed, so a changed ``views.py`` would never run;
* ``sys.modules``: a module beside the spec that a dotted ``type:`` imported stays imported;
* ``state.global_sources`` / ``state.global_filters`` (lumen/state.py:28-30): ``shared: true`` sources are built
  by the first session only (``Dashboard._materialize_specification`` loads them while the dict is empty), with
  their schema (the filters' options) cached on the instance: an edited shared source or data file behind one
  would keep its old definition and options.

Forgetting the shared sources makes the next session of every dashboard of the process build them again (the
dictionary is keyed by source name across specs, so there is no telling whose they are).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Collection

__all__ = ["forget"]

log = logging.getLogger("lumen_ext.serve")


def forget(changed: Collection[str]) -> None:
    """Forget what Lumen keeps across sessions, for the changed files ``changed`` (absolute paths)."""
    from lumen.config import config as lumen_config
    from lumen.state import state as lumen_state

    modules = {os.path.realpath(path) for path in changed if path.endswith(".py")}
    if modules:
        # Keyed by the path Lumen joined (the spec's folder + "views.py"): compare the files, not the spellings.
        for path in [p for p in lumen_config._modules if os.path.realpath(p) in modules]:
            del lumen_config._modules[path]
        for name, module in list(sys.modules.items()):
            file = getattr(module, "__file__", None)
            if isinstance(file, str) and os.path.realpath(file) in modules:
                del sys.modules[name]  # the next `import` (a dotted type:) reads the file again
    if lumen_state.global_sources:
        log.info(
            "lumen-ext: shared sources %s are built again by the next session",
            list(lumen_state.global_sources),
        )
    lumen_state.global_sources.clear()
    lumen_state.global_filters.clear()
