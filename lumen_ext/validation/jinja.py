"""Neutralise Jinja in a spec without rendering it, keeping every character where it was.

Lumen renders the whole file with Jinja2 (``DebugUndefined``, with ``env``/``shell``/``header``/``cookie``/``oauth``
as globals) *before* YAML parsing (lumen/util.py ``expand_spec``, config.py ``load_yaml``). Rendering would run
``shell()`` and expose secrets, so lumen-ext never does. Instead:

* ``{{ NAME }}`` with a bare unknown name stays as written: ``DebugUndefined`` prints it back, so this is what
  Lumen's YAML parser sees too (the corpus relies on this for intake's ``{{ CATALOG_DIR }}``).
* any other ``{{ expression }}`` is replaced by a same-length placeholder, so YAML positions do not move; the
  scalars it lands in are reported to the checks as *templated* (their real value is only known at run time).
* ``{% statements %}`` and ``{# comments #}`` become blanks; statements get a warning, since both branches of
  an ``if`` are then checked as if they were plain text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

_CANDIDATE = re.compile(r"\{(?=[{%#])")  # where a block may start: "{{", "{%" or "{#" (overlapping: "{{{")
_CLOSERS = {"{": "}}", "%": "%}", "#": "#}"}
_OPENER = re.compile(r"\{\{|\{%|\{#")
_BARE_NAME = re.compile(r"^-?\s*([A-Za-z_]\w*)\s*-?$")
_CALL = re.compile(r"\b(shell|env|header|cookie|oauth)\s*\(\s*(?:['\"]([^'\"]*)['\"])?")
# `env('KEY')`, or `env(KEY)`: Lumen's helper takes an undefined bare name as the key itself.
_ENV_CALL = re.compile(r"\benv\s*\(\s*(?:['\"]([^'\"]+)['\"]|([A-Za-z_]\w*))\s*\)")
# Jinja's own globals; a bare one renders its repr instead of staying literal.
_JINJA_GLOBALS = {
    "range",
    "dict",
    "lipsum",
    "cycler",
    "joiner",
    "namespace",
    "env",
    "shell",
    "header",
    "cookie",
    "oauth",
}

_CALL_MESSAGES = {
    "shell": "`{{{{ shell(...) }}}}` runs `{arg}` in a shell every time Lumen loads this file",
    "env": "`{{{{ env(...) }}}}` copies environment variable `{arg}` into the spec, where every viewer can see it",
    "header": "`{{{{ header(...) }}}}` pastes the viewer-controlled HTTP header `{arg}` into the YAML before it is parsed",
    "cookie": "`{{{{ cookie(...) }}}}` pastes the viewer-controlled cookie `{arg}` into the YAML before it is parsed",
    "oauth": "`{{{{ oauth(...) }}}}` pastes the OAuth claim `{arg}` into the YAML before it is parsed",
}
_CALL_HINTS = {
    "shell": "compute the value before serving and pass it with `--template-vars`, or use a variable",
    "env": "use an `env` variable (`variables: {x: {type: env, key: NAME}}`) so it stays out of the YAML text",
    "header": "use a `header` variable; pasted text can inject YAML tags (LUMEN-NOTES S16)",
    "cookie": "use a `cookie` variable; pasted text can inject YAML tags (LUMEN-NOTES S16)",
    "oauth": "use a `user` variable instead of templating the YAML text",
}


@dataclass(frozen=True, slots=True)
class JinjaFinding:
    start: int  # character offsets into the file text
    end: int
    rule: str
    message: str
    hint: str | None = None


@dataclass(frozen=True, slots=True)
class EnvCall:
    """``env('KEY')`` inside the expression at ``start:end`` (character offsets into the file text)."""

    start: int
    end: int
    key: str


@dataclass(slots=True)
class Neutralised:
    text: str  # same length as the input, line breaks unchanged
    templated: list[tuple[int, int]] = field(default_factory=list)  # offsets of substituted expressions
    findings: list[JinjaFinding] = field(default_factory=list)
    env_calls: list[EnvCall] = field(
        default_factory=list
    )  # what each `env()` reads: secure variables' values


def _blank(segment: str, fill: str) -> str:
    return "".join(ch if ch in "\r\n" else fill for ch in segment)


def _classify_expression(body: str, start: int, end: int) -> JinjaFinding | None:
    expr = body.strip().strip("-").strip()
    call = _CALL.search(expr)
    if call:
        name, arg = call.group(1), call.group(2) or "..."
        # shell() runs a command under plain Lumen and is refused by lumen-ext serve: an error. The other
        # helpers only move values into the spec, which lumen-ext serve contains: a warning.
        rule = "jinja-code-execution" if name == "shell" else "jinja-side-effect"
        return JinjaFinding(start, end, rule, _CALL_MESSAGES[name].format(arg=arg), _CALL_HINTS[name])
    if "__" in expr or re.search(r"[\w)\]]\s*\.\s*[A-Za-z_]", expr) or "[" in expr:
        return JinjaFinding(
            start,
            end,
            "jinja-code-execution",
            f"Jinja expression `{expr}` uses attribute or item access; Lumen renders it with an unsandboxed "
            "Jinja2 environment, which can reach Python internals",
            "keep Jinja to bare `{{ NAME }}` placeholders",
        )
    return JinjaFinding(
        start,
        end,
        "jinja-expression",
        f"Jinja expression `{expr}` is rendered by Lumen when the file loads; lumen-ext checks the spec "
        "without its value",
    )


def neutralise(text: str) -> Neutralised:
    """Replace Jinja constructs as described in the module docstring."""
    if "{" not in text:
        return Neutralised(text)
    out: list[str] = []
    result = Neutralised("")
    pos = 0
    for start, end in _blocks(text):
        segment = text[start:end]
        # An opener inside the gap would be unclosed: Jinja raises TemplateSyntaxError on it.
        _check_unclosed(text, pos, start, result)
        out.append(text[pos:start])
        pos = end
        if segment.startswith("{#"):
            out.append(_blank(segment, " "))
            continue
        if segment.startswith("{%"):
            keyword = segment[2:-2].strip().strip("-+").strip().split(" ", 1)[0]
            if not keyword.startswith(("end", "else", "elif")):
                result.findings.append(
                    JinjaFinding(
                        start,
                        end,
                        "jinja-statement",
                        f"Jinja `{{% {keyword} %}}` block: Lumen renders it before parsing, lumen-ext checks the "
                        "text as written (every branch, no loop expansion)",
                        "prefer Lumen variables to Jinja control flow",
                    )
                )
            out.append(_blank(segment, " "))
            continue
        body = segment[2:-2]
        bare = _BARE_NAME.match(body)
        if bare and bare.group(1) not in _JINJA_GLOBALS and "\n" not in body:
            out.append(segment)  # DebugUndefined renders it back verbatim
            continue
        if not body.strip().strip("-").strip():
            result.findings.append(
                JinjaFinding(
                    start, end, "jinja-syntax", "empty Jinja expression `{{ }}`: Lumen fails to load the file"
                )
            )
        else:
            # A expression Jinja cannot parse, or a helper called in a way Lumen's cannot take, fails the load:
            # that error, not the warning about what the expression would do.
            finding = _render_failure(segment, start, end) or _classify_expression(body, start, end)
            if finding:
                result.findings.append(finding)
            result.env_calls.extend(
                EnvCall(start, end, call.group(1) or call.group(2)) for call in _ENV_CALL.finditer(body)
            )
        out.append(_blank(segment, "x"))
        result.templated.append((start, end))
    _check_unclosed(text, pos, len(text), result)
    if "{%" in text and not any(f.rule == "jinja-syntax" for f in result.findings):
        _check_statements(text, result)
    out.append(text[pos:])
    result.text = "".join(out)
    return result


# Lumen's Jinja globals (util.py expand_spec: `_j_getenv(x)`, ...): each takes exactly one positional argument.
_HELPERS = ("env", "shell", "header", "cookie", "oauth")


def _render_failure(segment: str, start: int, end: int) -> JinjaFinding | None:
    """Why Lumen's Jinja fails on the ``{{ ... }}`` ``segment`` (parsed, never rendered), or None."""
    from jinja2 import Environment, nodes
    from jinja2.exceptions import TemplateSyntaxError

    try:
        tree = Environment().parse(segment)
    except TemplateSyntaxError as exc:
        return JinjaFinding(
            start,
            end,
            "jinja-syntax",
            f"Jinja cannot parse `{segment}`: {exc.message}; Lumen fails to load the file",
        )
    for call in tree.find_all(nodes.Call):
        name = call.node.name if isinstance(call.node, nodes.Name) else None
        if name in _HELPERS and (len(call.args) != 1 or call.kwargs or call.dyn_args or call.dyn_kwargs):
            return JinjaFinding(
                start,
                end,
                "jinja-syntax",
                f"`{name}()` takes exactly one argument (the name); Lumen 1.4 fails to load the file with "
                "TypeError",
                f"`{name}()` has no default: write `{{{{ {name}('NAME') }}}}`"
                + (" and use a `{% if %}` for the fallback" if name == "env" else ""),
            )
    return None


def _check_statements(text: str, result: Neutralised) -> None:
    """``{% ... %}`` blocks that do not nest (an ``if`` without ``endif``, ...): Jinja refuses the whole file."""
    from jinja2 import Environment
    from jinja2.exceptions import TemplateSyntaxError

    try:
        Environment().parse(text)
    except TemplateSyntaxError as exc:
        # At the first Jinja opener on the line Jinja names, else the whole line.
        lines = text.splitlines(keepends=True) or [""]
        line = min(max(exc.lineno or 1, 1), len(lines))
        at = sum(len(t) for t in lines[: line - 1])
        line_end = at + len(lines[line - 1].rstrip("\r\n"))
        opener = _OPENER.search(text, at, line_end)
        begin, end = (opener.start(), opener.end()) if opener else (at, line_end)
        result.findings.append(
            JinjaFinding(
                begin,
                end,
                "jinja-syntax",
                f"Jinja cannot parse the file: {exc.message} (line {line}); Lumen fails to load it",
            )
        )


def _blocks(text: str) -> Iterator[tuple[int, int]]:
    r"""The spans of ``{{ ... }}``, ``{% ... %}`` and ``{# ... #}``, shortest first, left to right.

    What ``re.finditer(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", text, re.DOTALL)`` finds, in linear time: that regex
    scans to the end of the text for every opener without a closer, so a file of unclosed ``{{`` took time
    quadratic in its size. Here each kind of closer is searched for once per stretch of text.
    """
    pos = 0
    found: dict[str, int] = {}  # closer -> its next position at or after the last search (-1: none left)
    for m in _CANDIDATE.finditer(text):
        start = m.start()
        if start < pos:
            continue  # inside the previous block
        closer = _CLOSERS[text[start + 1]]
        at = found.get(closer)
        if at is None or (at != -1 and at < start + 2):
            at = found[closer] = text.find(closer, start + 2)
        if at == -1:
            continue  # unclosed: left for _check_unclosed
        pos = at + 2
        yield start, pos


def _check_unclosed(text: str, lo: int, hi: int, result: Neutralised) -> None:
    m = _OPENER.search(text, lo, hi)
    if m:
        closer = {"{{": "}}", "{%": "%}", "{#": "#}"}[m.group()]
        result.findings.append(
            JinjaFinding(
                m.start(),
                m.end(),
                "jinja-syntax",
                f"unclosed Jinja `{m.group()}`: Lumen renders the file with Jinja2, which fails on it",
                f"close it with `{closer}`, or write `{{{{ '{m.group()}' }}}}` for the literal text",
            )
        )
