"""``--reload`` in-process: which files a spec depends on, the watcher on real files, what is forgotten after a change,
the policy read again. The browser loop itself is ``tests/ui/test_reload.py``."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import types
from pathlib import Path

import pytest

from lumen_ext.security.policy import load_policy
from lumen_ext.serving.live_policy import LivePolicy
from lumen_ext.serving.reload import Reloader, watch_list

SPEC = """\
sources:
  sales:
    type: file
    tables:
      sales: sales.csv
      regions: [data/regions.txt, csv]
      remote: https://example.org/x.csv
      picked: "${variables.name}.csv"
  db:
    type: duckdb
    uri: local.duckdb
    tables:
      trips: "SELECT * FROM read_parquet('trips/*.parquet')"
      zones: zones.csv
layouts:
  - title: Sales
    source: sales
    views:
      - type: table
        table: sales
"""
WAIT = 10  # seconds for the watcher to report a change; about 0.1 s on an idle machine


@pytest.fixture
def project(tmp_path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "sales.csv").write_text("region,amount\nE,1\n")
    (folder / "sales.yaml").write_text(SPEC)
    return folder


def test_a_spec_depends_on_its_local_data_the_python_beside_it_and_the_policy(project):
    policy = project / "policy.toml"
    watched = watch_list(project / "sales.yaml", policy)
    assert watched.files == {
        str(project / name)
        for name in (
            "sales.yaml",
            "sales.csv",
            "data/regions.txt",
            "local.duckdb",
            "zones.csv",
            "policy.toml",
        )
    }, (
        "URLs and paths only known at run time are left out; missing files are listed (creating one is a change)"
    )
    assert watched.patterns == (str(project / "*.py"), str(project / "trips/*.parquet"))
    assert watched.covers(str(project / "views.py")) and watched.covers(str(project / "trips" / "a.parquet"))
    assert not watched.covers(str(project / "notes.md")) and not watched.covers(
        str(project / "cache" / "x.py")
    )
    # Only existing folders can be watched: `data/` and `trips/` are not there yet.
    assert watched.folders() == {str(project)}


@pytest.fixture
def io_loop():
    """A real Tornado IOLoop on a thread of its own, as the server's."""
    from tornado.ioloop import IOLoop

    started = threading.Event()
    holder = {}

    def run():
        import asyncio

        asyncio.set_event_loop(asyncio.new_event_loop())
        holder["loop"] = IOLoop.current()
        holder["loop"].add_callback(started.set)
        holder["loop"].start()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(WAIT)
    yield holder["loop"]
    holder["loop"].add_callback(holder["loop"].stop)
    thread.join(WAIT)


def _changes_logged(caplog, count: int) -> list[str]:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        lines = [r.getMessage() for r in caplog.records if "open page(s) of" in r.getMessage()]
        if len(lines) >= count:
            return lines
        time.sleep(0.05)
    pytest.fail(f"the watcher reported {len(lines)} change(s), not {count}: {lines}")


def test_the_watcher_sees_atomic_saves_new_files_and_other_folders(project, io_loop, caplog):
    caplog.set_level(logging.INFO, logger="lumen_ext.serve")
    spec = project / "sales.yaml"
    reloader = Reloader({"sales": spec})
    reloader.start(io_loop)
    try:
        time.sleep(0.5)  # the watcher's first look at the folder
        # An editor's save: a temporary file renamed over the spec (a new inode; a watch on the file would lose it).
        temporary = project / ".sales.yaml.swp"
        temporary.write_text(SPEC.replace("Sales", "Sales two"))
        os.replace(temporary, spec)
        assert "sales.yaml changed" in _changes_logged(caplog, 1)[0]
        # A module that did not exist when the server started.
        (project / "views.py").write_text("X = 1\n")
        assert "views.py changed" in _changes_logged(caplog, 2)[1]
        # Files nobody depends on: nothing.
        (project / "notes.md").write_text("notes")
        (project / "cache").mkdir()
        (project / "cache" / "t.parq").write_text("x")
        # The spec now reads a file in a folder of its own: that folder is watched from now on.
        (project / "more").mkdir()
        spec.write_text(SPEC.replace("zones: zones.csv", "zones: more/zones.csv"))
        _changes_logged(caplog, 3)
        time.sleep(1)  # longer than the watcher takes to look at its folders again
        (project / "more" / "zones.csv").write_text("zone\nA\n")
        lines = _changes_logged(caplog, 4)
        assert "zones.csv changed" in lines[3]
        assert not any("notes.md" in line or "t.parq" in line for line in lines), lines
    finally:
        reloader.stop()


@pytest.fixture
def lumen_state():
    """Lumen's process-wide state that reloading forgets, put back as it was after the test."""
    from lumen.config import config
    from lumen.state import state

    modules, sources = dict(config._modules), dict(state.global_sources)
    yield config, state
    config._modules.clear()
    config._modules.update(modules)
    state.global_sources.clear()
    state.global_sources.update(sources)


def test_a_session_after_a_change_forgets_what_lumen_kept_from_the_old_files(
    project, lumen_state, monkeypatch
):
    config, state = lumen_state
    views, helper = project / "views.py", project / "reload_helper_mod.py"
    views.write_text("X = 1\n")
    helper.write_text("Y = 1\n")
    monkeypatch.syspath_prepend(str(project))
    import reload_helper_mod  # noqa: F401  # what a dotted `type: reload_helper_mod.View` would import

    # As Lumen's load_local_modules keeps it: the path it joined -> the module it executed.
    config._modules[os.path.join(str(project), "views.py")] = types.ModuleType("local_lumen.views")
    state.global_sources["shared"] = object()
    reloader = Reloader({"sales": project / "sales.yaml"})
    assert reloader.bring_up_to_date("sales") == set(), "nothing changed since the server started"
    assert state.global_sources

    time.sleep(0.01)
    views.write_text("X = 2\n")
    helper.write_text("Y = 2\n")
    assert reloader.bring_up_to_date("sales") == {str(views), str(helper)}
    assert os.path.join(str(project), "views.py") not in config._modules, "executed again by the next session"
    assert "reload_helper_mod" not in sys.modules, "imported again by the next session"
    assert not state.global_sources, "shared sources are built again by the next session"
    assert reloader.bring_up_to_date("sales") == set()

    # A data file the spec starts reading: the spec changed, so the list of files is read again.
    (project / "sales.yaml").write_text(SPEC.replace("zones: zones.csv", "zones: new_zones.csv"))
    assert str(project / "sales.yaml") in reloader.bring_up_to_date("sales")
    (project / "new_zones.csv").write_text("zone\n")
    assert reloader.bring_up_to_date("sales") == {str(project / "new_zones.csv")}


def test_the_policy_is_read_again_with_the_command_line_overrides_kept(tmp_path):
    file = tmp_path / "policy.toml"
    file.write_text("allow_local_modules = false\n")
    applied = []
    live = LivePolicy(load_policy(file).with_overrides(dev=True), apply=applied.append)  # as `--dev` does

    file.write_text("allow_local_modules = true\n")
    live.reread()
    assert [(p.allow_local_modules, p.dev) for p in applied] == [(True, True)]
    assert live.policy.allow_local_modules and live.problem is None

    file.write_text("allow_local_modules = yes\n")  # not TOML
    live.reread()
    assert live.problem and "policy.toml" in live.problem
    assert live.policy.allow_local_modules and len(applied) == 1, "the previous policy stays in force"

    file.write_text("allow_local_modules = true\n")
    live.reread()
    assert live.problem is None and len(applied) == 1, "the same policy again: nothing to apply"
