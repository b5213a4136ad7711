"""``lumen_ext.tornado.dashboards`` refuses what it cannot serve before it changes anything in the process (Panel's
CDN roots, the working directory, the hooks): each bad call with its message. In-process and fast; the served
example is ``test_example.py``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from support.paths import REPO

from lumen_ext.tornado import dashboards

SPECS = REPO / "specs"
URL = "http://127.0.0.1:5006"


def _spec_elsewhere(folder: Path) -> Path:
    spec = folder / "other" / "penguins2.yaml"
    spec.parent.mkdir()
    spec.write_text((SPECS / "penguins.yaml").read_text())
    return spec


CASES = [
    pytest.param(
        lambda tmp: ([SPECS / "penguins.yaml"], {"public_url": URL}),
        "this process runs in .*, not in the specs' folder .*specs: pass chdir=True",
        id="working-directory-elsewhere",
    ),
    pytest.param(
        lambda tmp: ([SPECS / "penguins.yaml", _spec_elsewhere(tmp)], {"public_url": URL, "chdir": True}),
        "all specs must sit in the same folder",
        id="specs-in-two-folders",
    ),
    pytest.param(
        lambda tmp: ([SPECS / "nope.yaml"], {"public_url": URL, "chdir": False}),
        "no such spec file: .*nope.yaml",
        id="missing-spec",
    ),
    pytest.param(
        lambda tmp: ([SPECS / "penguins.yaml", SPECS / "penguins.yaml"], {"public_url": URL, "chdir": False}),
        "two specs named 'penguins'",
        id="same-name-twice",
    ),
    pytest.param(lambda tmp: ([], {"public_url": URL, "chdir": False}), "no spec to serve", id="no-spec"),
    pytest.param(
        lambda tmp: ([SPECS / "penguins.yaml"], {"public_url": "127.0.0.1:5006", "chdir": False}),
        "public_url must be an absolute http",
        id="public-url-without-scheme",
    ),
    pytest.param(
        lambda tmp: ([SPECS / "penguins.yaml"], {"public_url": URL, "chdir": False, "cache": "redis"}),
        "cache must be True, False or a CacheConfig, not str",
        id="cache-of-the-wrong-type",
    ),
]


@pytest.mark.parametrize(("call", "message"), CASES)
def test_a_bad_call_is_refused_before_anything_changes(tmp_path, call, message):
    specs, kwargs = call(tmp_path)
    cwd, cdn_root = Path.cwd(), os.environ.get("PANEL_CDN_ROOT")
    with pytest.raises((ValueError, TypeError, FileNotFoundError), match=message):
        dashboards(specs, **kwargs)
    assert (Path.cwd(), os.environ.get("PANEL_CDN_ROOT")) == (cwd, cdn_root)
    assert str(SPECS) not in sys.path
