"""What `lumen-ext test` reports: one :class:`Check` per thing it verified, grouped per spec."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Check", "SpecResult"]


@dataclass(frozen=True)
class Check:
    name: str  # what was verified, e.g. "layout 'Overview': renders"
    ok: bool
    detail: str = ""  # what was found or measured
    where: str | None = None  # file:line of a declared assertion or budget
    seconds: float | None = None  # how long the checked thing took, when it was timed


@dataclass
class SpecResult:
    spec: str  # as shown to the user
    checks: list[Check] = field(default_factory=list)

    @property
    def failed(self) -> list[Check]:
        return [check for check in self.checks if not check.ok]

    @property
    def ok(self) -> bool:
        return not self.failed
