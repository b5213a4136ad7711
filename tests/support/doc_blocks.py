"""The fenced code blocks of a Markdown file, and the marker that says what a YAML block of `docs/` is.

A YAML block's first line says what it is (`docs/authoring.md`, "How the examples are tested"):

    # spec: NAME             a whole spec, saved as `mydash/NAME.yaml` (its data paths are relative to that folder)
    # fragment: NAME         keys merged into spec NAME as the earlier fragments of NAME left it
    # not-a-spec: WHAT       YAML of another format (a CI workflow, a checks file): it only has to parse

An optional second line `# validate says: RULE, RULE` gives the rules `lumen-ext validate` reports on it
(a block showing a mistake on purpose); without it the block must validate without any diagnostic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SPEC_FOLDER = "mydash"
YAML_LANGUAGES = ("yaml", "yml")
KINDS = ("spec", "fragment", "not-a-spec")

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_MARKER = re.compile(r"^#\s*(?P<kind>[a-z-]+):\s*(?P<name>.*?)\s*$")
_SAYS = re.compile(r"^#\s*validate says:\s*(?P<rules>.*?)\s*$")
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int  # of the opening fence, 1-based
    language: str  # the info string's first word, lower case ("" for a bare fence)
    text: str

    @property
    def where(self) -> str:
        return f"{self.doc.parent.name}/{self.doc.name}:{self.line}"


@dataclass(frozen=True)
class Example:
    """A marked YAML block. ``says`` is None when the block must validate clean."""

    block: Block
    kind: str
    name: str
    says: frozenset[str] | None

    @property
    def spec_path(self) -> str:
        return f"{SPEC_FOLDER}/{self.name}.yaml"

    @property
    def id(self) -> str:
        return f"{self.block.doc.stem}:{self.block.line}:{self.kind}:{self.name}"


def fenced_blocks(doc: Path) -> list[Block]:
    """Every fenced block of ``doc`` in order (CommonMark fences: backticks or tildes, closed by a fence of the
    same character at least as long; an indented fence's content loses that indentation)."""
    blocks: list[Block] = []
    lines = doc.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        start, body = i + 1, []
        i += 1
        while i < len(lines):
            closing = _FENCE.match(lines[i])
            if closing and closing["fence"].startswith(fence) and not closing["info"].strip():
                break
            line = lines[i]
            body.append(line[min(indent, len(line) - len(line.lstrip(" "))) :])
            i += 1
        words = opening["info"].split()
        blocks.append(Block(doc, start, words[0].lower() if words else "", "\n".join(body) + "\n"))
        i += 1
    return blocks


def marker(block: Block) -> Example | str:
    """The block's `Example`, or why its marker is missing or wrong."""
    lines = block.text.splitlines() or [""]
    found = _MARKER.match(lines[0])
    if found is None or found["kind"] not in KINDS:
        return "its first line is not `# spec: NAME`, `# fragment: NAME` or `# not-a-spec: WHAT`"
    kind, name = found["kind"], found["name"]
    if kind != "not-a-spec" and not _NAME.match(name):
        return f"`{name}` is not a spec name (letters, digits, `_`, `-`)"
    says = _SAYS.match(lines[1]) if len(lines) > 1 else None
    rules = None
    if says is not None:
        rules = frozenset(r.strip() for r in says["rules"].split(",") if r.strip())
        if kind == "not-a-spec" or not rules:
            return "`# validate says:` needs rule ids, on a spec or a fragment"
    return Example(block, kind, name, rules)
