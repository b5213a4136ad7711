"""lumen-ext's run-time integration with Lumen, Panel, Bokeh, HoloViews and Tornado: the one place that changes them.

Everything lumen-ext changes in those libraries at run time is a row of :data:`~lumen_ext.hooks.table.HOOKS`, and
only :mod:`lumen_ext.hooks.registry` sets upstream attributes. The code a hook runs lives with its feature
(``lumen_ext.cache``, ``lumen_ext.serving``, ``lumen_ext.views``, ``lumen_ext.security``); the table names it by
import path, so importing this package imports neither Panel nor Lumen.

* ``install(profile, settings)``: what ``lumen-ext serve`` (profile ``serve``), ``lumen serve`` with lumen-ext
  installed (``lumen-serve``), ``precache`` and ``explain`` call once, before any dashboard is built.
* ``enable(*names, settings=...)`` / ``disable(*names)``: hooks or groups (``"views.patching"``, ``"cache"``) on
  their own, with what they require; the test suite uses these.
"""

from __future__ import annotations

from lumen_ext.hooks.hook import Hook
from lumen_ext.hooks.registry import (
    Decision,
    decide,
    disable,
    enable,
    enable_deferred,
    enabled,
    install,
    is_enabled,
    original,
    settings_of,
    shadow,
    uninstall,
)
from lumen_ext.hooks.settings import Settings

__all__ = [
    "Decision",
    "Hook",
    "Settings",
    "decide",
    "disable",
    "enable",
    "enable_deferred",
    "enabled",
    "install",
    "is_enabled",
    "original",
    "settings_of",
    "shadow",
    "uninstall",
]
