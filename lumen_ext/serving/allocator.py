"""`lumen-ext serve` runs on glibc's ``malloc`` instead of pymalloc, so closed sessions' memory goes back to the OS.

CPython's small-object allocator (pymalloc) hands a 256 KiB arena back only when every object in it is gone. A
session's objects are interleaved with long-lived ones (caches, interned strings, module state), so after a crowd
of sessions closes the arenas stay: RSS stays at the crowd's peak (+37% after 100 sessions in the load test,
``bench/README.md``), although the Python heap itself is back to its size before them. With
``PYTHONMALLOC=malloc`` small objects live in glibc's heap, where :mod:`lumen_ext.serving.memory_release`'s
``malloc_trim(0)`` returns the free pages (within 10% of the RSS before the crowd).

CPython reads ``PYTHONMALLOC`` once, when the interpreter starts, so the server re-executes itself with it set,
before it imports anything heavy (:func:`reexec_for_malloc`). It does so only when all of these hold
(:func:`malloc_environment` decides; it is a pure function so tests check every case without a re-exec):

* the operator asked for nothing else: ``--allocator pymalloc`` keeps the running interpreter, and any value of
  ``PYTHONMALLOC`` already set (``malloc``, ``pymalloc``, ``debug``, ...) is respected as it is;
* pymalloc is what runs (``sys.getallocatedblocks()`` counts pymalloc's blocks and is 0 under any other
  allocator), and the interpreter reads its environment (not ``python -E`` or ``-I``);
* glibc's ``malloc_trim`` exists: elsewhere (macOS, Windows, musl) nothing would return the pages either, so a
  re-exec would cost start-up time and buy nothing;
* the process was started as this command (:func:`own_command_line`): code that calls the CLI in-process
  (``bench/memory_probe.py``, tests) is never replaced under its caller's feet. Such launchers decide for their
  own command line by calling :func:`reexec_for_malloc` themselves.

``--num-procs N`` forks its workers after the re-exec, so every worker runs on the same allocator. Subprocesses
the server starts (a Dask ``LocalCluster``'s workers) inherit ``PYTHONMALLOC=malloc`` from the environment.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["CHOICES", "malloc_environment", "own_command_line", "pymalloc_in_use", "reexec_for_malloc"]

ENV = "PYTHONMALLOC"
CHOICES = ("malloc", "pymalloc")


def pymalloc_in_use() -> bool:
    """Whether this interpreter allocates small objects with pymalloc (its block count is 0 otherwise)."""
    return sys.getallocatedblocks() > 0


def malloc_environment(
    choice: str,
    environ: Mapping[str, str],
    *,
    pymalloc: bool,
    reads_environment: bool,
    can_trim: bool,
) -> dict[str, str] | None:
    """The environment to re-execute with so ``choice`` takes effect, or None to keep this interpreter.

    ``pymalloc``: pymalloc runs now; ``reads_environment``: the interpreter honours ``PYTHONMALLOC`` (no ``-E``);
    ``can_trim``: glibc's ``malloc_trim`` exists, so memory freed in glibc's heap can go back to the OS.
    """
    if choice != "malloc" or environ.get(ENV):  # the operator's own choice stands (an empty value is unset)
        return None
    if not (pymalloc and reads_environment and can_trim):
        return None
    return {**environ, ENV: "malloc"}


def own_command_line(command: str = "serve") -> list[str] | None:
    """This process's full command line when it was started as ``lumen-ext COMMAND`` (or ``python -m lumen_ext``).

    None when another program runs the CLI in-process (a launcher, a test): re-executing its command line would
    not even run lumen-ext.
    """
    main = sys.modules.get("__main__")
    spec_name = getattr(getattr(main, "__spec__", None), "name", None)
    script = Path(getattr(main, "__file__", "") or "").name
    started_as_cli = spec_name == "lumen_ext.__main__" or script in ("lumen-ext", "lumen-ext-script.py")
    if not started_as_cli or sys.argv[1:2] != [command]:
        return None
    return [sys.executable, *sys.orig_argv[1:]]


def reexec_for_malloc(choice: str, command: Sequence[str] | None) -> None:
    """Replace this process with ``command`` under ``PYTHONMALLOC=malloc`` when :func:`malloc_environment` says so.

    Returns (doing nothing) when it does not, or when ``command`` is None. The process keeps its id, so a
    supervisor, a test's ``Popen`` or a pid file still points at the server.
    """
    if command is None:
        return
    from lumen_ext.serving.memory_release import _malloc_trim

    env = malloc_environment(
        choice,
        os.environ,
        pymalloc=pymalloc_in_use(),
        reads_environment=not sys.flags.ignore_environment,
        can_trim=_malloc_trim is not None,
    )
    if env is None:
        return
    for stream in (sys.stdout, sys.stderr):  # what was printed so far must not be lost with the old process
        stream.flush()
    os.execve(sys.executable, list(command), env)
