"""A portable freshness fingerprint of the files a table reads: size and a BLAKE2b digest, never a date.

A lock file is committed and read on other machines, where a clone or a checkout gives every file a new
modification time (and inode), so the stat tuple the stage cache keys on (`lumen_ext.cache.fingerprint`)
would call every lock stale. What is hashed:

* a Parquet file: its footer (the file metadata: schema, row groups, their sizes and column statistics),
  found through the last 8 bytes. Reading the footer costs the same for 5 KB as for 300 MB, and a rewrite that
  changes the data changes the sizes or statistics there;
* any other file (CSV, JSON, a DuckDB database): its whole content, streamed. CSV has no footer, and a
  header-only hash would miss the edits that change a column's type (a value typed into a number column).

Digests are remembered for a file's exact stat (size, mtime, ctime, inode) in this process, so a server that
validates on every page load re-reads nothing until a file changes.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

__all__ = ["fingerprint"]

_PARQUET_MAGIC = b"PAR1"
_CHUNK = 1 << 20


def fingerprint(files: Iterable[Path], root: Path) -> list[dict]:
    """One entry per file (a Parquet dataset folder: per file inside it), sorted by path relative to ``root``."""
    entries = [_entry(path, root) for path in _expand(files)]
    return sorted(entries, key=lambda e: e["file"])


def _expand(files: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for path in files:
        if path.is_dir():
            # A Parquet dataset: pyarrow skips names starting with "." or "_" (metadata, checksums), so do we.
            for folder, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
                out.extend(Path(folder) / n for n in sorted(names) if not n.startswith((".", "_")))
        else:
            out.append(path)
    return out


def _entry(path: Path, root: Path) -> dict:
    st = path.stat()
    of, digest = _digest(str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    return {"file": _relative(path, root), "bytes": st.st_size, "blake2b": digest, "of": of}


def _relative(path: Path, root: Path) -> str:
    """POSIX path relative to the spec's folder, as the spec writes it; absolute when on another drive."""
    try:
        return Path(os.path.relpath(path, root)).as_posix()
    except ValueError:
        return path.as_posix()


@functools.lru_cache(maxsize=1024)
def _digest(path: str, size: int, mtime_ns: int, ctime_ns: int, inode: int) -> tuple[str, str]:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        footer = _parquet_footer(fh, size)
        if footer is not None:
            h.update(footer)
            return "footer", h.hexdigest()
        fh.seek(0)
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return "content", h.hexdigest()


def _parquet_footer(fh, size: int) -> bytes | None:
    """The footer of a Parquet file (``<metadata><4-byte length>PAR1``), or None when this is not one."""
    if size < 12:
        return None
    fh.seek(0)
    if fh.read(4) != _PARQUET_MAGIC:
        return None
    fh.seek(size - 8)
    tail = fh.read(8)
    length = int.from_bytes(tail[:4], "little")
    if tail[4:] != _PARQUET_MAGIC or length > size - 12:
        return None
    fh.seek(size - 8 - length)
    return fh.read(length)
