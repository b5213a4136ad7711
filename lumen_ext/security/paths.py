"""Path and URL containment, shared by the linter (static) and the runtime guards (at the moment of use).

Both ask the same question, "may this spec touch this location?", so they cannot disagree about the answer.
Symlinks are resolved before comparing: a link inside the project that points at ``/etc`` is outside.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlparse

__all__ = [
    "PROJECT_MARKERS",
    "describe_roots",
    "find_project_root",
    "is_inside",
    "is_url",
    "resolve_under",
    "url_scheme",
]

# Files that mark the top of a project, as for ruff, pytest or git: specs in `specs/` reading `../data/x.csv`
# are one project. `lumen-ext.toml` lets a project without the others say where it starts.
PROJECT_MARKERS = ("lumen-ext.toml", "pyproject.toml", ".git")

# `C:\x` is a drive letter, not a URL scheme; a scheme has at least two characters.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+)://")


def url_scheme(value: str) -> str | None:
    """The scheme of ``value`` when it is a URL (``https``, ``s3``, ``file``), else None."""
    m = _SCHEME.match(value)
    return m.group(1).lower() if m else None


def is_url(value: str) -> bool:
    return url_scheme(value) is not None


def resolve_under(path: str | os.PathLike, base: Path) -> Path:
    """``path`` made absolute against ``base`` the way Lumen does (``base / path``), with ``..`` and links resolved."""
    candidate = Path(os.path.expanduser(os.fspath(path)))
    if not candidate.is_absolute():
        candidate = base / candidate
    try:
        return candidate.resolve()
    except (OSError, ValueError):  # e.g. an embedded NUL: no file has that name; compare the text
        return Path(os.path.normpath(candidate))


def find_project_root(spec_dir: Path) -> Path:
    """The nearest folder at or above ``spec_dir`` holding a `PROJECT_MARKERS` entry, else ``spec_dir``.

    The search never returns the file-system root or the user's home folder: a dotfiles repository at ``~``
    must not make every file of the user part of a dashboard's project.
    """
    spec_dir = spec_dir.resolve()
    stop = {Path(spec_dir.anchor), Path.home().resolve()}
    for folder in (spec_dir, *spec_dir.parents):
        if folder in stop:
            break
        if any((folder / marker).exists() for marker in PROJECT_MARKERS):
            return folder
    return spec_dir


def is_inside(path: Path, roots: Iterable[Path], strictly: bool = False) -> bool:
    """Whether resolved ``path`` lies within one of ``roots`` (``strictly``: and is not a root itself)."""
    for root in roots:
        root = root.resolve()
        if path == root:
            if not strictly:
                return True
            continue
        if path.is_relative_to(root):
            return True
    return False


def file_url_path(value: str) -> str:
    """The local path a ``file://`` URL names."""
    return urlparse(value).path


def describe_roots(roots: Iterable[Path]) -> str:
    return ", ".join(str(r) for r in roots)
