"""Turning what happened in the page (`lumen_ext.gate.drive.PageRun`), in the browser console and in the server
log into checks, and comparing the times measured with the budgets of the spec's checks file."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lumen_ext.checks.models import ChecksFile, ViewBudget
from lumen_ext.gate.drive import PageRun
from lumen_ext.gate.results import Check

__all__ = ["budget_checks", "console_check", "page_checks", "server_check"]

QUOTED_LINES = 5  # of a log or a list of errors, in a check's detail


def page_checks(run: PageRun) -> list[Check]:
    checks = []
    if run.problem is not None:
        checks.append(Check("the dashboard opens and can be used", False, run.problem))
    for title, layout in run.layouts.items():
        located = [view for view in layout.views.values() if view.found]
        detail = (
            f"{len(located)} of {len(layout.views)} views located" if layout.views else "no views located"
        )
        checks.append(
            Check(
                f"layout {title!r}: renders, every view shows data",
                not layout.problems,
                "; ".join(layout.problems) or detail,
                seconds=layout.first_render,
            )
        )
    for offered in run.downloads:
        download, where = offered.download, ", ".join(repr(title) for title in offered.shown)
        name = f"download button {download.button + 1} on {where} delivers a file"
        checks.append(Check(name, download.problem is None, download.problem or str(download.filename)))
    for control in run.controls:
        where = ", ".join(repr(title) for title in control.shown)
        name = f"control {control.label!r} on {where}: set to another value and back"
        if control.problem is not None:
            checks.append(Check(name, False, control.problem))
            continue
        # A control whose change shows nothing (a facet's sort order, a value no row has) is reported, not failed;
        # so is one the views do not follow back (the browser tests hold the example specs to both).
        if not control.changed:
            detail = "nothing visible changed"
        elif control.changed_back:
            detail = f"views changed in {_s(control.seconds)}, back in {_s(control.back_seconds)}"
        else:
            detail = f"views changed in {_s(control.seconds)}; putting it back changed nothing visible"
        if control.restored is False:
            detail += "; the views did not return to what they showed before"
        checks.append(Check(name, True, detail, seconds=_max(control.seconds, control.back_seconds)))
    if run.problem is None:
        cards = ", ".join(run.error_cards)
        checks.append(
            Check("no error cards on the page", not run.error_cards, cards and f"error ids {cards}")
        )
    return checks


def console_check(problems: dict[str, list[str]]) -> Check:
    found = [
        f"{kind}: {item}" for kind in ("console errors", "page errors") for item in problems.get(kind, [])
    ]
    return Check("no console errors or page errors in the browser", not found, _quote(found))


def server_check(faults: list[str], log_tail: str) -> Check:
    detail = _quote(faults) + ("\n" + log_tail if faults and log_tail else "")
    return Check("no tracebacks or errors in the server log", not faults, detail)


def budget_checks(run: PageRun, checks: ChecksFile, where: Callable[[tuple], str]) -> list[Check]:
    """One check per budget; ``where(path)`` says where a path of the checks file is written."""
    out = []
    for title, budget in checks.layouts.items():
        layout = run.layouts.get(title)
        path = ("layouts", title)
        first = layout.first_render if layout is not None else None
        changes = [
            seconds
            for control in run.controls
            if title in control.shown
            for seconds in (control.seconds, control.back_seconds)
            if seconds is not None
        ]
        seen = "the layout was not shown" if layout is None else None
        out += _budget(f"layout {title!r}", budget, path, first, changes, seen, where)
        for name, view_budget in budget.views.items():
            view = layout.views.get(name) if layout is not None else None
            missing = seen or (
                "the view could not be located in the page" if view is None or not view.found else None
            )
            view_changes = [
                control.views[(title, name)] for control in run.controls if (title, name) in control.views
            ]
            first_view = view.seconds if view is not None else None
            out += _budget(
                f"view {name!r} of {title!r}",
                view_budget,
                (*path, "views", name),
                first_view,
                view_changes,
                missing,
                where,
            )
    return out


def _budget(
    what: str,
    budget: ViewBudget,
    path: tuple,
    first: float | None,
    changes: list[float],
    missing: str | None,
    where: Callable[[tuple], str],
) -> list[Check]:
    out = []
    if budget.first_render is not None:
        name = f"{what}: first render within {_s(budget.first_render)}"
        at = where((*path, "first_render"))
        if missing or first is None:
            out.append(Check(name, False, f"not measured: {missing or 'nothing was drawn'}", at))
        else:
            out.append(Check(name, first <= budget.first_render, f"took {_s(first)}", at, first))
    if budget.filter_change is not None:
        name = f"{what}: every filter change within {_s(budget.filter_change)}"
        at = where((*path, "filter_change"))
        if missing or not changes:
            reason = missing or "no control changed what it shows"
            out.append(Check(name, False, f"not measured: {reason}", at))
        else:
            slowest = max(changes)
            detail = f"slowest of {len(changes)} changes took {_s(slowest)}"
            out.append(Check(name, slowest <= budget.filter_change, detail, at, slowest))
    return out


def _s(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.2f} s"


def _max(*values: float | None) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _quote(lines: list[Any]) -> str:
    shown = [str(line)[:500] for line in lines[:QUOTED_LINES]]
    more = f"\n... and {len(lines) - QUOTED_LINES} more" if len(lines) > QUOTED_LINES else ""
    return "\n".join(shown) + more
