"""What every fuzz case must satisfy, checked from the outside (the oracles do not reuse the validator's helpers).

`run_validator` takes a spec the way ``lumen-ext validate`` does (a file read by the CLI's own path, data checks
on) and renders it in all four formats; `problems` then lists every broken promise:

* no ``internal-error`` (a check raised) and no exception out of validation or a reporter;
* the JSON output parses and has the documented shape;
* the SARIF output parses and has what SARIF 2.1.0 requires (version, runs, tool.driver.name, each result's
  message, a ruleId that matches ``rules[ruleIndex]``, a level, and a region with 1-based lines and columns);
* every diagnostic's start and end line exist in the file as an editor shows it (only ``\\n``, ``\\r\\n`` and
  ``\\r`` end a line, a byte order mark is not a character), and its start column is on that line;
* GitHub annotations: one line per diagnostic.
"""

from __future__ import annotations

import io
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

FORMATS = ("text", "json", "github", "sarif")
SARIF_LEVELS = {"none", "note", "warning", "error"}
_BREAK = re.compile(r"\r\n|\r|\n")


def editor_lines(text: str) -> list[str]:
    text = text.removeprefix("\ufeff")
    lines = _BREAK.split(text)
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()  # a final line end does not start a line
    return lines


@dataclass
class Outcome:
    diagnostics: int = 0
    rules: set[str] = field(default_factory=set)
    crashed: list[str] = field(default_factory=list)  # internal-error tracebacks
    exit_status: int = 0
    outputs: dict[str, str] = field(default_factory=dict)
    # Validation plus the slowest rendering (`lumen-ext validate --format F`, worst F): in CPU seconds of this
    # process, which other jobs on a shared machine do not inflate, and in wall seconds.
    seconds: float = 0.0
    wall: float = 0.0


def run_validator(text: str, workdir: Path) -> Outcome:
    """Write ``text`` as ``workdir/spec.yaml`` (UTF-8, line ends untouched) and validate it like the CLI does."""
    from lumen_ext.validation import validate_paths
    from lumen_ext.validation.command import exit_status
    from lumen_ext.validation.reporters import REPORTER_BY_NAME

    spec = workdir / "spec.yaml"
    spec.write_bytes(text.encode("utf-8"))
    started, cpu = time.perf_counter(), time.process_time()
    report = validate_paths([spec], data=True)
    validated, validated_cpu = time.perf_counter() - started, time.process_time() - cpu
    outcome = Outcome(
        len(report.diagnostics), {d.rule for d in report.diagnostics}, exit_status=exit_status(report)
    )
    outcome.crashed = [t for f in report.files for t in f.tracebacks]
    rendering, rendering_cpu = [], []
    for name in FORMATS:
        out = io.StringIO()
        started, cpu = time.perf_counter(), time.process_time()
        REPORTER_BY_NAME[name](out).report(report)
        rendering.append(time.perf_counter() - started)
        rendering_cpu.append(time.process_time() - cpu)
        outcome.outputs[name] = out.getvalue()
    outcome.seconds = validated_cpu + max(rendering_cpu)
    outcome.wall = validated + max(rendering)
    return outcome


def problems(text: str, outcome: Outcome) -> list[str]:
    found = [f"internal-error: {t.strip().splitlines()[-1]}" for t in outcome.crashed]
    if outcome.exit_status not in (0, 1, 2) or (outcome.crashed and outcome.exit_status != 2):
        found.append(f"exit status {outcome.exit_status}")
    lines = editor_lines(text)
    try:
        payload = json.loads(outcome.outputs["json"])
    except ValueError as exc:
        return [*found, f"json: does not parse ({exc})"]
    found += _json_shape(payload)
    found += _positions(payload.get("diagnostics", []), lines)
    try:
        sarif = json.loads(outcome.outputs["sarif"])
    except ValueError as exc:
        return [*found, f"sarif: does not parse ({exc})"]
    found += _sarif(sarif, lines)
    github = [line for line in outcome.outputs["github"].split("\n") if line]  # what the runner splits on
    if len(github) != outcome.diagnostics or not all(
        line.startswith(("::error ", "::warning ")) for line in github
    ):
        found.append("github: not one annotation per diagnostic")
    return found


def _json_shape(payload) -> list[str]:
    if not isinstance(payload, dict) or set(payload) != {"version", "files", "diagnostics", "summary"}:
        return ["json: top-level keys"]
    keys = {"file", "line", "column", "end_line", "end_column", "severity", "rule", "message", "hint"}
    for d in payload["diagnostics"]:
        if set(d) != keys or not isinstance(d["message"], str) or not d["message"]:
            return [f"json: diagnostic shape {sorted(d)}"]
        if d["severity"] not in ("error", "warning"):
            return [f"json: severity {d['severity']!r}"]
    errors = sum(d["severity"] == "error" for d in payload["diagnostics"])
    if payload["summary"].get("errors") != errors:
        return ["json: summary does not count the errors"]
    return []


def _positions(diagnostics: list[dict], lines: list[str]) -> list[str]:
    found = []
    for d in diagnostics:
        line, column, end_line, end_column = d["line"], d["column"], d["end_line"], d["end_column"]
        where = f"{d['rule']} at {line}:{column}-{end_line}:{end_column}"
        if not (1 <= line <= end_line <= len(lines)):
            found.append(f"line outside the file's {len(lines)} lines: {where}")
        elif not (1 <= column <= len(lines[line - 1]) + 1) or end_column < 1:
            found.append(f"column outside line {line} ({len(lines[line - 1])} characters): {where}")
        elif line == end_line and end_column < column:
            found.append(f"span ends before it starts: {where}")
    return found


def _sarif(sarif, lines: list[str]) -> list[str]:
    if not isinstance(sarif, dict) or sarif.get("version") != "2.1.0" or not sarif.get("runs"):
        return ["sarif: version or runs missing"]
    found = []
    for run in sarif["runs"]:
        driver = run.get("tool", {}).get("driver", {})
        if not isinstance(driver.get("name"), str):
            found.append("sarif: tool.driver.name missing")
        rules = driver.get("rules", [])
        for result in run.get("results", []):
            message = result.get("message", {})
            if not (isinstance(message.get("text"), str) and message["text"]):
                found.append("sarif: result without message.text")
            index = result.get("ruleIndex")
            if not (
                isinstance(index, int)
                and 0 <= index < len(rules)
                and rules[index]["id"] == result.get("ruleId")
            ):
                found.append(f"sarif: ruleIndex {index} does not name {result.get('ruleId')}")
            if result.get("level") not in SARIF_LEVELS:
                found.append(f"sarif: level {result.get('level')!r}")
            for location in result.get("locations", []):
                physical = location.get("physicalLocation", {})
                if not isinstance(physical.get("artifactLocation", {}).get("uri"), str):
                    found.append("sarif: artifactLocation.uri missing")
                region = physical.get("region", {})
                found += [
                    f"sarif: {p}"
                    for p in _positions(
                        [
                            {
                                "rule": result.get("ruleId"),
                                "line": region.get("startLine", 0),
                                "column": region.get("startColumn", 0),
                                "end_line": region.get("endLine", 0),
                                "end_column": region.get("endColumn", 0),
                            }
                        ],
                        lines,
                    )
                ]
    return found
