"""Parquet copies of large CSV tables, written once per file version from Lumen's own parse, for DuckDB to scan.

Lumen 1.4 parses a ``file`` source's CSV into pandas for every new filter combination (sources/base.py:1059-1064),
and the stage cache can only keep that parse while it fits the memory budget: a 10M-row CSV does not, so each
new filter value would parse it again. DuckDB's own ``read_csv`` is no answer: it infers types differently from
pandas (dates, booleans, ``"NA"`` strings, integers with a null, float rounding), and it would re-read the text
on every query. So the CSV is parsed once per file version by Lumen's reader, that frame is written to Parquet,
and :mod:`lumen_ext.cache.filescan` scans the copy with the filters and transforms pushed down, exactly as it
scans a Parquet table. The caller checks that the copy reads back with the frame's dtypes before it is used;
when it does not, a marker records why, and the table stays on Lumen's reader without being parsed again for
this (in any process).

Where: ``CacheConfig.csv_copy_dir``; by default the ``csv-parquet`` folder of the file tier (``disk_dir``), else
a private folder under the temporary directory, shared by the processes of one user on one host. One copy per
file version, named by hashes of the path and of its fingerprint; writing a new version deletes the older ones.
Processes serialise on a lock per copy, so one parses while the others wait and then read its result.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lumen_ext.cache.config import CacheConfig
from lumen_ext.cache.hashing import stable_hash
from lumen_ext.filelock import exclusive

__all__ = ["CopyRefused", "copy_dir", "parquet_copy"]

_DIR_NAME = "csv-parquet"


class CopyRefused(Exception):
    """The table cannot be served from a Parquet copy; the message says why (also recorded for other processes)."""


def copy_dir(config: CacheConfig) -> Path:
    """The folder of the copies: created private to this user, refused when someone else could write into it."""
    checked = []
    if config.csv_copy_dir is not None:
        folder = Path(config.csv_copy_dir)
    elif config.disk_dir is not None:
        folder = Path(config.disk_dir) / _DIR_NAME
    else:
        # Under a shared temporary directory another user could have made the folder first: check it too.
        folder = Path(tempfile.gettempdir()) / f"lumen-ext-{os.getuid()}" / _DIR_NAME
        checked.append(folder.parent)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for part in (*checked, folder):
        info = os.lstat(part)
        if stat.S_ISLNK(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
            raise CopyRefused(f"{part} is not a private folder of this user")
    return folder


def parquet_copy(
    path: str,
    fingerprint: tuple,
    folder: Path,
    read: Callable[[], Any],
    check: Callable[[str, Any], None],
) -> str:
    """The Parquet copy of the CSV at ``path`` in its version ``fingerprint``, written now if missing.

    ``read()`` parses the CSV (Lumen's reader); ``check(copy, frame)`` raises :class:`CopyRefused` when the
    written copy would not read back as ``frame``. A refusal is recorded next to the copies and raised again,
    without parsing, to every later caller for the same file version.
    """
    stem = f"{stable_hash(path)[:16]}-{stable_hash(fingerprint)[:16]}"
    copy, refused = folder / f"{stem}.parquet", folder / f"{stem}.refused"
    if copy.exists():
        return str(copy)
    with exclusive(folder / f"{stem}.lock"):
        if copy.exists():  # another process wrote it while this one waited
            return str(copy)
        if refused.exists():
            raise CopyRefused(_reason(refused))
        frame = read()
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{stem}-", suffix=".parquet")
        os.close(fd)
        try:
            try:
                frame.to_parquet(tmp, index=False)
            except (
                ValueError,
                TypeError,
                NotImplementedError,
                ArithmeticError,
            ) as e:  # ArrowInvalid, overflow...
                raise CopyRefused(f"pandas cannot write it to Parquet: {e}") from e
            check(tmp, frame)
        except CopyRefused as e:
            os.unlink(tmp)
            refused.write_text(json.dumps({"path": path, "reason": str(e)}))
            raise
        except BaseException:
            os.unlink(tmp)
            raise
        os.replace(tmp, copy)
        _drop_older_versions(folder, stem)
    return str(copy)


def _reason(marker: Path) -> str:
    try:
        return json.loads(marker.read_text())["reason"]
    except (OSError, ValueError, KeyError):
        return "an earlier copy was refused"


def _drop_older_versions(folder: Path, stem: str) -> None:
    prefix = stem.split("-")[0] + "-"
    for old in folder.glob(f"{prefix}*"):
        if not old.name.startswith(stem):
            with contextlib.suppress(FileNotFoundError):
                old.unlink()
