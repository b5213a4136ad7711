"""`lumen-ext test --junit FILE`: JUnit XML, one ``<testsuite>`` per spec and one ``<testcase>`` per check, the
format CI systems (GitLab, Jenkins, GitHub test reporters) show as test results."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from lumen_ext.gate.results import SpecResult

__all__ = ["junit_xml", "write_junit"]


def junit_xml(results: Sequence[SpecResult], seconds: float) -> ET.ElementTree:
    checks = [check for result in results for check in result.checks]
    root = ET.Element(
        "testsuites",
        name="lumen-ext test",
        tests=str(len(checks)),
        failures=str(sum(not check.ok for check in checks)),
        errors="0",
        time=f"{seconds:.3f}",
        timestamp=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    for result in results:
        suite = ET.SubElement(
            root,
            "testsuite",
            name=result.spec,
            tests=str(len(result.checks)),
            failures=str(len(result.failed)),
            errors="0",
            skipped="0",
            time=f"{sum(check.seconds or 0 for check in result.checks):.3f}",
        )
        for check in result.checks:
            case = ET.SubElement(
                suite, "testcase", classname=result.spec, name=check.name, time=f"{check.seconds or 0:.3f}"
            )
            if check.where:
                file, _, line = check.where.rpartition(":")
                case.set("file", file)
                case.set("line", line)
            if not check.ok:
                message = check.detail.splitlines()[0] if check.detail else "failed"
                failure = ET.SubElement(case, "failure", message=message, type="check")
                failure.text = check.detail + (f"\ndeclared at {check.where}" if check.where else "")
            elif check.detail:
                ET.SubElement(case, "system-out").text = check.detail
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(results: Sequence[SpecResult], seconds: float, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    junit_xml(results, seconds).write(path, encoding="utf-8", xml_declaration=True)
