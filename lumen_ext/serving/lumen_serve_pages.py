"""Under ``lumen serve --autoreload``, a spec saved with errors gets lumen-ext's diagnostics page, as under
``lumen-ext serve --reload``.

Lumen's ``YamlHandler`` builds each session (lumen/command/__init__.py). Under ``--autoreload`` Panel makes a new
handler per session, which parses the file first: a spec saved with a Lumen error showed "Application did not
publish any contents", one with a YAML syntax error an HTTP 500. The hook ``serving.lumen-serve.diagnostics``
(profile ``lumen-serve``) validates the spec before Lumen's ``modify_document`` and, when it has errors, serves the
page ``lumen-ext serve`` serves (:mod:`lumen_ext.serving.app`) instead: file:line, rule and hint. A YAML syntax error
when the server starts still stops it (Lumen parses the spec while the applications are built, before any session).

The hook is deferred, and enabled from :func:`lumen_serve.rest_provider` under ``--autoreload``/``--dev`` only:
without them ``lumen serve`` keeps serving what Lumen serves (a spec ``lumen-ext validate`` finds errors in but Lumen
renders, say), and the door installs its profile while ``lumen.command`` is still being imported (its first lines
import Panel's serve command, which imports the door).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["diagnostics_first"]


def diagnostics_first(original: Callable[[Any, Any], None], settings: Any) -> Callable[[Any, Any], None]:
    """``YamlHandler.modify_document``: the diagnostics page when the spec has errors, else Lumen's own."""
    from lumen_ext.security.runtime import policy_of

    policy = policy_of(settings)

    def modify_document(self: Any, doc: Any) -> None:
        from panel.io.state import set_curdoc

        from lumen_ext.serving import lumen_serve
        from lumen_ext.serving.app import policy_error_view, validation_error_view

        spec = lumen_serve.served_spec(self.url_path())
        if spec is None:
            return original(self, doc)
        reloader = lumen_serve.reloader()
        if reloader is not None and reloader.policy is not None and reloader.policy.problem is not None:
            view = policy_error_view(spec, reloader.policy.problem)
        else:
            view = validation_error_view(spec, True, policy, reloading=lumen_serve.reloads_pages())
        if view is None:
            return original(self, doc)
        with set_curdoc(doc):
            view.server_doc(doc, title=spec.name)
        return None

    return modify_document
