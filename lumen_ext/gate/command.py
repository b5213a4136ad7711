"""`lumen-ext test [--junit FILE] [--browser PATH] [--artifacts DIR] [--policy FILE] SPEC...`: the CI gate.

Each spec is validated (with its checks file, `lumen_ext.checks`), served by `lumen-ext serve` (one server per
folder) and used in a headless Chromium (`lumen_ext.gate.drive`); then the checks file's data assertions run on
the data the server computes, and its budgets are compared with the times measured in the page.

Exit status: 0 every check passed, 1 a check failed, 2 usage or environment error (no browser, no such spec, a
spec or checks file with errors, a browser that does not start, an internal error).
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lumen_ext.security.options import add_policy_argument, policy_from_args

__all__ = ["configure", "run"]

PROG = "lumen-ext test"
VIEWPORT = {"width": 1400, "height": 1300}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="SPEC",
        help="dashboard specs (NAME.yaml, with NAME.checks beside it if any), or folders searched for specs",
    )
    parser.add_argument("--junit", type=Path, metavar="FILE", help="also write the results as JUnit XML")
    parser.add_argument(
        "--browser",
        metavar="PATH",
        help="Chromium or Chrome executable (default: $LUMEN_EXT_CHROMIUM, then chromium, chromium-browser or "
        "google-chrome on PATH, then Playwright's own)",
    )
    parser.add_argument(
        "--artifacts",
        type=Path,
        metavar="DIR",
        help="keep the server logs, downloaded files and screenshots of failing pages here "
        "(default: a temporary folder, deleted at the end)",
    )
    add_policy_argument(parser)
    parser.epilog = (
        "Exit status: 0 every check passed, 1 a check failed, 2 usage or environment error (no browser, no such "
        "spec, a spec or checks file with errors)."
    )


class BrowserDidNotStart(RuntimeError):
    """The browser found could not be launched (the caller exits 2)."""


@dataclass
class Target:
    """One spec to test, validated: its data, and its checks file if it has one."""

    spec: Path
    shown: str  # as the user sees the path
    data: Any
    checks: Any  # ChecksFile | None
    where: Callable[[tuple], str]  # where a path of the checks file is written (file:line)


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    policy = policy_from_args(args, PROG)
    if policy is None:
        return 2
    targets = _validated(args.paths, policy)
    if targets is None:
        return 2
    from lumen_ext.gate.browser import NO_BROWSER, BrowserChoice, find_browser

    try:
        import playwright  # noqa: F401  (only `lumen-ext test` needs it: the `gate` extra)
    except ImportError:
        sys.stderr.write(f"{PROG}: Playwright is not installed: pip install 'lumen-ext[gate]'\n")
        return 2
    browser = find_browser(args.browser)
    if not isinstance(browser, BrowserChoice):
        sys.stderr.write((browser or NO_BROWSER) + "\n")
        return 2
    with _artifacts(args.artifacts) as folder:
        try:
            results = _test(targets, browser, folder, args.policy, policy)
        except BrowserDidNotStart as exc:
            sys.stderr.write(f"{PROG}: {exc}\n")
            return 2
        except Exception:
            # A bug of lumen-ext test itself: not a check that failed.
            sys.stderr.write(f"{PROG}: internal error\n{traceback.format_exc()}")
            return 2
        if args.artifacts is not None:
            sys.stdout.write(f"server logs, downloads and screenshots in {folder}\n")
    elapsed = time.monotonic() - started
    from lumen_ext.gate.report import write_text
    from lumen_ext.validation.command import use_color

    write_text(results, sys.stdout, elapsed, color=use_color(sys.stdout))
    if args.junit is not None:
        from lumen_ext.gate.junit import write_junit

        write_junit(results, elapsed, args.junit)
    return 0 if all(result.ok for result in results) else 1


def _validated(paths: list[str], policy: Any) -> list[Target] | None:
    """The specs under ``paths``, validated with their checks files; None after printing why it cannot go on."""
    from lumen_ext.checks.files import is_checks_file, spec_for
    from lumen_ext.validation.diagnostics import Report
    from lumen_ext.validation.engine import (
        UnreadableInput,
        display_path,
        expand_paths,
        validate_paths,
        validate_with_checks,
    )
    from lumen_ext.validation.loader import load_text
    from lumen_ext.validation.reporters import TextReporter

    try:
        found = expand_paths(paths)
    except UnreadableInput as exc:
        sys.stderr.write(f"{PROG}: error: {exc}\n")
        return None
    specs: dict[Path, Path] = {}
    orphans = []
    for path in found:
        spec = spec_for(path) if is_checks_file(path) else path
        if spec is None:
            orphans.append(path)
        else:
            specs.setdefault(spec.resolve(), spec)
    if not specs and not orphans:
        sys.stderr.write(f"{PROG}: error: no *.yaml or *.yml specs found in {', '.join(paths)}\n")
        return None
    broken = Report(validate_paths(orphans).files) if orphans else Report()
    targets = []
    for spec in specs.values():
        both = validate_with_checks(spec, data=True, policy=policy)
        files = [f for f in (both.spec, both.checks and both.checks.report) if f is not None]
        if any(d.severity == "error" for f in files for d in f.diagnostics) or any(
            f.tracebacks for f in files
        ):
            broken.files.extend(files)
            continue
        data = load_text(spec.read_text(encoding="utf-8-sig")).data
        if both.checks is None:
            targets.append(Target(spec, display_path(spec), data, None, lambda path: ""))
        else:
            shown, loaded = both.checks.report.path, both.checks.loaded
            where = _locator(shown, loaded)
            targets.append(Target(spec, display_path(spec), data, both.checks.checks, where))
    if broken.files:
        TextReporter(sys.stderr).report(broken)
        sys.stderr.write(f"{PROG}: fix these first (`lumen-ext validate` checks them without serving)\n")
        return None
    return targets


def _locator(shown: str, loaded: Any) -> Callable[[tuple], str]:
    return lambda path: f"{shown}:{loaded.locate(path, 'key').line}"


@contextlib.contextmanager
def _artifacts(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    folder = Path(tempfile.mkdtemp(prefix="lumen-ext-test-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _test(targets: list[Target], browser: Any, folder: Path, policy_file: str | None, policy: Any) -> list:
    from lumen_ext.gate.data import install_runtime, table_checks
    from lumen_ext.gate.results import Check, SpecResult

    results = {target.spec: SpecResult(target.shown) for target in targets}
    # Source tables first, in this process, before Playwright's event loop runs in this thread.
    with_tables = [t for t in targets if t.checks is not None and t.checks.tables]
    if with_tables:
        install_runtime(policy)
        for target in with_tables:
            results[target.spec].checks += table_checks(target.spec.resolve(), target.checks, target.where)
    from playwright.sync_api import sync_playwright

    from lumen_ext.gate.browser import launch_chromium
    from lumen_ext.gate.server import ServerDidNotStart, serve_folder

    by_folder: dict[Path, list[Target]] = {}
    for target in targets:
        by_folder.setdefault(target.spec.resolve().parent, []).append(target)
    extra = ("--policy", str(Path(policy_file).resolve())) if policy_file else ()
    from playwright.sync_api import Error as PlaywrightError

    with sync_playwright() as playwright:
        try:
            chromium = launch_chromium(playwright, browser)
        except PlaywrightError as exc:
            where = browser.executable or "Playwright's Chromium"
            reason = str(exc).splitlines()[0]
            raise BrowserDidNotStart(
                f"the browser {where} ({browser.found_by}) did not start: {reason}"
            ) from exc
        try:
            for n, (where, group) in enumerate(by_folder.items()):
                log = folder / f"server-{n}-{where.name}.log"
                try:
                    with serve_folder([t.spec.resolve() for t in group], log, extra) as served:
                        for target in group:
                            results[target.spec].checks[:0] = _test_spec(chromium, served, target, folder)
                except ServerDidNotStart as exc:
                    for target in group:
                        results[target.spec].checks.insert(0, Check("the server starts", False, str(exc)))
        finally:
            chromium.close()
    return list(results.values())


def _test_spec(chromium, served, target: Target, folder: Path) -> list:
    from lumen_ext.gate.browser import PageWatch
    from lumen_ext.gate.data import pipeline_checks
    from lumen_ext.gate.drive import exercise
    from lumen_ext.gate.verdicts import budget_checks, console_check, page_checks, server_check

    app = served.app(target.spec.stem)
    context = chromium.new_context(viewport=VIEWPORT, accept_downloads=True)
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        watch = PageWatch()
        watch.attach(page)
        page_run = exercise(page, app.url, target.data, folder / "downloads" / target.spec.stem)
        checks = page_checks(page_run)
        if target.checks is not None:
            checks += budget_checks(page_run, target.checks, target.where)
            checks += pipeline_checks(app.base_url, target.spec.stem, target.checks, target.where)
        checks.append(console_check(watch.problems()))
        if not all(check.ok for check in checks):
            with contextlib.suppress(Exception):  # a screenshot is a convenience; the checks say what failed
                page.screenshot(path=str(folder / f"{target.spec.stem}-failed.png"), full_page=True)
    finally:
        context.close()
    checks.append(server_check(app.faults(), "\n".join(app.log().splitlines()[-20:])))
    return checks
