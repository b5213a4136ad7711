"""``--reload``: save a spec, one of its data files, a module beside it or the policy, and every open page of that
dashboard shows the result within about a second, the server still running.

Three parts:

* **Watching** (:meth:`Reloader.start`, in a thread handing changes to the IOLoop): ``watchfiles`` watches the *folders* of the files each spec depends on
  (:func:`watch_list`: the spec, its local data files, every ``*.py`` beside it, the policy file), not the files.
  Panel's own watcher (``panel.io.reload``, behind ``panel serve --autoreload``) watches each file, which loses a file
  an editor saves through a temporary file and a rename (a new inode), cannot watch a file that does not exist yet (a
  ``views.py`` about to be written: ``watchfiles`` raises and the whole watcher stops), and starts over after each
  change, missing a save that follows within its one-second pause.
* **Refreshing** (:meth:`Reloader.refresh`): every open page of a dashboard whose files changed is told to reload
  through its Panel ``Location`` (``location.reload = True``, as ``panel serve --autoreload`` does); a page whose
  document is not loaded yet reloads once it is. Each new session validates the spec again and shows the
  diagnostics page when it has errors (:mod:`lumen_ext.serving.app`), so a broken save shows file:line, rule and hint
  and a fixed one brings the dashboard back. The terminal gets the same diagnostics.
* **Forgetting** (:meth:`Reloader.bring_up_to_date`, at the creation of each session of a watched dashboard): what
  changed since the last session was built is found by the files' stats, whoever noticed it (this watcher, Panel's,
  or the analyst pressing F5), and what Lumen keeps across sessions for those files is forgotten
  (:mod:`lumen_ext.serving.stale_state`); a changed policy file is read again (:mod:`lumen_ext.serving.live_policy`).
  The stage cache needs nothing: its keys include every data file's stat.

Sessions are followed through Panel's public ``pn.state.on_session_created`` and Bokeh's ``document_ready`` event,
so the same :class:`Reloader` serves ``lumen-ext serve --reload`` (and ``lumen_ext.tornado.dashboards(reload=True)``)
and ``lumen serve --autoreload`` with lumen-ext installed, where Panel's watcher also refreshes the pages of a
changed spec (a page asked twice reloads once) and this one adds the other files
(:mod:`lumen_ext.serving.lumen_serve`).
"""

from __future__ import annotations

import asyncio
import fnmatch
import glob
import logging
import os
import threading
import weakref
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from lumen_ext.serving.live_policy import LivePolicy

__all__ = ["Reloader", "WatchList", "watch_list"]

log = logging.getLogger("lumen_ext.serve")

FOLDERS_CHECKED_EVERY_MS = 500
Stamp = tuple[int, int, int, int] | None  # (mtime_ns, ctime_ns, size, inode); None: the file does not exist


def _stamp(path: str) -> Stamp:
    try:
        st = os.stat(path)
    except OSError:
        return None
    # ctime and inode too: an edit can keep size and mtime, and a save through a rename makes a new inode.
    return (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)


@dataclass(frozen=True)
class WatchList:
    """The files a spec depends on: exact paths, and glob patterns (a data glob, the ``*.py`` beside the spec)."""

    files: frozenset[str]
    patterns: tuple[str, ...] = ()

    def covers(self, path: str) -> bool:
        return path in self.files or any(_glob_matches(pattern, path) for pattern in self.patterns)

    def folders(self) -> set[str]:
        """The existing folders to watch (a folder with a glob in its name cannot be watched, nor a missing one)."""
        folders = {os.path.dirname(p) for p in (*self.files, *self.patterns)}
        return {f for f in folders if not glob.has_magic(f) and os.path.isdir(f)}

    def stamps(self) -> dict[str, Stamp]:
        paths = set(self.files)
        for pattern in self.patterns:
            paths.update(glob.glob(pattern))
        return {path: _stamp(path) for path in paths}


def _glob_matches(pattern: str, path: str) -> bool:
    """As ``glob.glob(pattern)`` would list ``path``: a ``*`` stays within one folder (``fnmatch``'s crosses ``/``;
    with as many separators on both sides, every one of the path's is matched by one of the pattern's)."""
    return path.count(os.sep) == pattern.count(os.sep) and fnmatch.fnmatchcase(path, pattern)


def watch_list(spec: Path, policy_file: Path | None = None) -> WatchList:
    """What a change to should refresh the pages of ``spec``: the spec, the local files its sources read
    (:mod:`lumen_ext.validation.data_files`), every ``*.py`` beside it (the local modules Lumen executes, and the
    modules dotted ``type:`` paths import from there) and the policy file."""
    from lumen_ext.validation.data_files import spec_data_files

    spec = spec.resolve()
    files = {str(spec)}
    patterns = [os.path.join(glob.escape(str(spec.parent)), "*.py")]
    if policy_file is not None:
        files.add(str(Path(policy_file).resolve()))
    for path in spec_data_files(spec):
        if glob.has_magic(path):
            patterns.append(path)
        else:
            files.add(path)
    return WatchList(frozenset(files), tuple(patterns))


@dataclass
class _Page:
    name: str
    built_from: dict[str, Stamp]  # the stats of the dashboard's files when the session was built
    ready: bool = False  # the browser loaded the document
    reload_when_ready: bool = False


class Reloader:
    """Watches the files of ``specs`` (URL name -> spec file) and refreshes their open pages when one changes.

    ``policy``: the server's :class:`~lumen_ext.serving.live_policy.LivePolicy` (its file is watched and read again);
    ``report_to``: where the diagnostics of a changed spec are written (``None``: nowhere); ``data_checks``: whether
    those diagnostics read the data (``--no-data``).
    """

    def __init__(
        self,
        specs: dict[str, Path],
        *,
        policy: LivePolicy | None = None,
        report_to: TextIO | None = None,
        data_checks: bool = True,
    ) -> None:
        self.specs = {name: Path(spec).resolve() for name, spec in specs.items()}
        self.policy = policy
        self._report_to = report_to
        self._data_checks = data_checks
        self._lists = {name: self._list(name) for name in self.specs}
        # What the last session of each dashboard was built from.
        self._built_from = {name: watched.stamps() for name, watched in self._lists.items()}
        self._pages: weakref.WeakKeyDictionary[Any, _Page] = weakref.WeakKeyDictionary()
        self._stop: threading.Event | None = None
        self._thread: threading.Thread | None = None

    def _list(self, name: str) -> WatchList:
        return watch_list(self.specs[name], self.policy.file if self.policy is not None else None)

    # -- sessions ---------------------------------------------------------------------------------------------

    def follow_sessions(self) -> None:
        """Follow every new session of the process (call once, before the server starts)."""
        import panel as pn

        pn.state.on_session_created(self.session_created)

    def session_created(self, session_context: Any) -> None:
        """Panel's ``on_session_created`` callback (the session's document is ``pn.state.curdoc``)."""
        import panel as pn

        # Panel's warm-up sessions (`panel serve --autoreload` builds one per app at start) have no server.
        application = getattr(getattr(session_context, "server_context", None), "application_context", None)
        name = str(getattr(application, "url", "")).strip("/")
        doc = pn.state.curdoc
        if name not in self.specs or doc is None:
            return
        self.bring_up_to_date(name)
        self._pages[doc] = _Page(name, built_from=self._built_from[name])
        doc.on_event("document_ready", _weak_callback(self._document_ready, doc))

    def _document_ready(self, doc: Any) -> None:
        page = self._pages.get(doc)
        if page is None:
            return
        page.ready = True
        if page.reload_when_ready:
            _ask_to_reload(doc)

    def bring_up_to_date(self, name: str) -> set[str]:
        """Forget what Lumen kept from the files of ``name`` that changed since its last session was built (and read
        a changed policy again); the changed files."""
        from lumen_ext.serving.stale_state import forget

        stamps = self._lists[name].stamps()
        before = self._built_from[name]
        changed = {path for path in stamps.keys() | before.keys() if stamps.get(path) != before.get(path)}
        if not changed:
            return changed
        if str(self.specs[name]) in changed:
            self._lists[name] = self._list(name)  # the spec may read other data files now
            stamps = self._lists[name].stamps()
        self._built_from[name] = stamps
        if self.policy is not None and self.policy.file is not None and str(self.policy.file) in changed:
            self.policy.reread()
        forget(changed)
        return changed

    def refresh(self, names: Collection[str]) -> int:
        """Ask every open page of the dashboards ``names`` built from other files than there are now to reload; how
        many were asked. (A page built after the change, because another watcher or the analyst reloaded it
        first, is left alone: asked again it would reload a second time.)"""
        now = {name: self._lists[name].stamps() for name in names}
        asked = 0
        for doc, page in list(self._pages.items()):
            context = doc.session_context
            if (
                page.name not in names
                or context is None
                or context.destroyed
                or page.built_from == now[page.name]
            ):
                continue
            if not page.ready:
                # Built from the files as they were, while the browser is still loading it.
                page.reload_when_ready = True
            elif context.session is not None and context.session.connection_count:
                _ask_to_reload(doc)
            else:
                continue  # a closed page whose session Bokeh has not discarded yet
            asked += 1
        return asked

    # -- watching ---------------------------------------------------------------------------------------------

    def start(self, io_loop: Any) -> None:
        """Watch until :meth:`stop`, handing each batch of changes to ``io_loop`` (the server's Tornado IOLoop).

        The watching runs in a daemon thread of its own: a process that ends without calling :meth:`stop`
        (``lumen serve``, whose exit joins every other thread) is never held up by it.
        """
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._watch, args=(io_loop,), name="lumen-ext-reload", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()

    def watched(self, path: str) -> bool:
        """Whether a change to ``path`` concerns a dashboard (``watchfiles``' filter)."""
        return any(self._lists[name].covers(path) for name in self.specs)

    def _folders(self) -> set[str]:
        return set().union(*(watched.folders() for watched in self._lists.values()))

    def _watch(self, io_loop: Any) -> None:
        from watchfiles import watch

        assert self._stop is not None
        while not self._stop.is_set():
            folders = self._folders()
            try:
                for changes in watch(
                    *sorted(folders),
                    watch_filter=lambda _change, path: self.watched(path),
                    recursive=False,
                    stop_event=self._stop,
                    # Back empty every half second: a changed spec may read files in another folder now.
                    rust_timeout=FOLDERS_CHECKED_EVERY_MS,
                    yield_on_timeout=True,
                ):
                    if changes:
                        io_loop.add_callback(self.changed, {path for _change, path in changes})
                    if self._folders() != folders:
                        break
            except Exception:  # a folder removed under the watcher, say: look again, never stop watching
                log.exception("lumen-ext: watching %s failed; watching again in a second", sorted(folders))
                self._stop.wait(1)

    async def changed(self, paths: set[str]) -> None:
        """What the watcher does with a batch of changed files: refresh the pages of the dashboards they concern,
        then write those dashboards' diagnostics to the terminal."""
        names = sorted(name for name in self.specs if any(self._lists[name].covers(p) for p in paths))
        if not names:
            return
        for name in names:
            if str(self.specs[name]) in paths:
                self._lists[name] = self._list(name)  # it may read other files now
        if self.policy is not None and str(self.policy.file) in paths:
            self.policy.reread()  # so the diagnostics below judge by it; sessions built from now on use it
        asked = self.refresh(names)
        files = ", ".join(sorted(os.path.basename(p) for p in paths))
        log.info("lumen-ext: %s changed; %d open page(s) of %s reloading", files, asked, ", ".join(names))
        if self._report_to is not None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, self._report, [self.specs[name] for name in names])

    def _report(self, specs: Iterable[Path]) -> None:
        from lumen_ext.serving.bokeh_server import report_diagnostics

        assert self._report_to is not None
        policy = self.policy.policy if self.policy is not None else None
        report_diagnostics(specs, self._data_checks, policy, self._report_to, clean_line=True)


def _weak_callback(method: Callable[[Any], None], doc: Any) -> Callable[[Any], None]:
    """A Bokeh event callback calling ``method(doc)`` that does not keep ``doc`` alive."""
    ref = weakref.ref(doc)

    def callback(_event: Any) -> None:
        doc = ref()
        if doc is not None:
            method(doc)

    return callback


def _ask_to_reload(doc: Any) -> None:
    """What ``panel serve --autoreload`` does to a page (panel/io/reload.py ``_reload``): its ``Location`` reloads
    the browser's page, which builds a new session."""
    from panel.io.state import set_curdoc, state

    with set_curdoc(doc):
        location = state.location
    if location is not None:
        location.reload = True
