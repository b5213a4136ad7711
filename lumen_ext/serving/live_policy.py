"""The policy of a reloading server: read again when its file changes, then put in force.

The guards take the policy from the settings the hooks were installed with, so a new policy is put in force by
installing the door's hooks profile again with it (``apply``): the registry recomposes every replaced attribute with
the new settings and the policy hook records it (``lumen_ext.hooks.registry``; the stage cache keeps its entries,
its configuration being the same). What the command line added to the file's policy (``--dev``) is kept.

A file that no longer reads as a policy (a typo, an unknown key) leaves the previous policy in force and is
reported as :attr:`LivePolicy.problem`, which ``lumen-ext serve`` shows in every page until the file is fixed.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path

from lumen_ext.security.policy import Policy, PolicyError, load_policy

__all__ = ["LivePolicy"]

log = logging.getLogger("lumen_ext.serve")


class LivePolicy:
    """``policy``, re-read from ``policy.source`` by :meth:`reread`; ``apply(new)`` puts a changed one in force."""

    def __init__(self, policy: Policy, apply: Callable[[Policy], None]) -> None:
        self.policy = policy
        self.problem: str | None = None
        self._apply = apply
        self._overrides: dict[str, object] = {}
        if policy.source is not None:
            # What differs from the file now is what the command line (or the embedding program) set on top of it.
            from_file = load_policy(policy.source)
            self._overrides = {
                f.name: getattr(policy, f.name)
                for f in dataclasses.fields(Policy)
                if f.compare and getattr(policy, f.name) != getattr(from_file, f.name)
            }

    @property
    def file(self) -> Path | None:
        return self.policy.source

    def reread(self) -> None:
        """Read the policy file again; a changed policy is applied, an unusable file becomes :attr:`problem`."""
        if self.file is None:
            return
        try:
            policy = load_policy(self.file).with_overrides(**self._overrides)
        except PolicyError as exc:
            self.problem = str(exc)
            log.error("lumen-ext: %s; the previous policy stays in force until the file is fixed", exc)
            return
        self.problem = None
        if policy != self.policy:
            self._apply(policy)
            self.policy = policy
            log.info("lumen-ext: policy %s read again and in force", self.file)
