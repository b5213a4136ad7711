"""The fuzzer's inputs: one generator per class of spec text, each a function of a seeded `random.Random`.

A case is ``(class, index)`` under a run seed; its text is ``CLASSES[class](Random(f"{seed}/{class}/{index}"))``,
so any failure can be regenerated alone (``bench/fuzz_specs.py --only CLASS --case INDEX --seed SEED``).

Classes:

* ``generated``: spec-shaped mappings over Lumen's vocabulary with attack strings in the values;
* ``mutated``: real specs (the corpus, ``specs/``, ``tests/examples``) with random insertions and deletions;
* ``scalar-tags``: every standard YAML tag on a value its constructor cannot build, and YAML 1.1 plain scalars
  that resolve to a type they do not fit (``2024-02-30``, 5,000-digit integers);
* ``alias-bombs``: "billion laughs" over sequences, mappings and ``<<`` merges, long merge chains, recursive
  and undefined aliases, and harmless reuse;
* ``line-separators``: U+0085, U+2028 and U+2029 in quoted strings, keys, comments and anywhere;
* ``line-ends``: CRLF, CR-only and mixed line ends, with and without a byte order mark, files without a final
  line end;
* ``huge``: large flat lists (flow on one line, block), long scalars, many keys, many Jinja expressions (closed
  and unclosed), deep nesting on either side of the validator's limit, and large lists deep down;
* ``non-string-type``: ``type:`` given as a list, a mapping, a number, a boolean, null or a date wherever a
  component is declared.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "lumen-corpus"
EXAMPLES = REPO / "tests" / "examples"

KEYS = [
    "config", "variables", "sources", "pipelines", "layouts", "auth", "defaults", "type", "tables", "table",
    "source", "pipeline", "views", "filters", "transforms", "sql_transforms", "query", "expr", "controls",
    "parameters", "cache_dir", "initializers", "uri", "kind", "key", "secure", "editable", "on_loaded", "title",
    "field", "value", "default", "spec", "object", "objects", "template", "layout", "email",
]  # fmt: skip
TYPES = [
    "file", "json", "duckdb", "join", "widget", "constant", "url", "env", "cookie", "header", "query", "eval",
    "sql_format", "panel", "holoviews", "table", "hvplot", "subprocess.Popen", "os.system", "panel.pane.Markdown",
    "lumen.sources.base.FileSource", "a.b.c", "",
]  # fmt: skip
ATTACKS = [
    "!!python/object/apply:os.system ['true']", "{{ shell('true') }}", "{{ cycler.__init__.__globals__ }}",
    "{{ env('HOME') }}", "{{ cookie('x') }}", "{% for i in range(3) %}x{% endfor %}", "{{", "}}", "{%", "${",
    "$variables.q", "${variables.q}", "$source.table.field", "@table.to_csv('/tmp/x')", "../../etc/passwd",
    "/etc/passwd", "file:///etc/passwd", "s3://bucket/key", "COPY (SELECT 1) TO '/tmp/x'", "INSTALL httpfs",
    "*, (SELECT 1) AS pw", "a.__class__", ".", "..", "\x00", "\u202e", "&anchor", "*alias", "<<", "? ", "- ", "'",
    '"', "\\", "\t", "\n", "1e309", "-0", "~", "null", "yes", ":", "#",
]  # fmt: skip
INSERTIONS = [
    *ATTACKS, "\n  " * 3, "[" * 60, "{a: " * 40, "&a [*a]", "\n- &x {k: *x}\n", "\n<<: *nope\n", "\ufeff", "\r\n",
    "%YAML 1.1\n---\n", "---\n", "...\n", "!foo ", "!!binary AAAA", "!!set {a}", "!!omap [a: 1]",
]  # fmt: skip
SEPARATORS = ["\x85", "\u2028", "\u2029"]


def _read(path: Path) -> str:
    # As the CLI reads a spec; the line-end class puts CR and CRLF back on purpose.
    return path.read_text(encoding="utf-8-sig")


def corpus_texts() -> list[str]:
    """Real specs: the Lumen corpus when present, the project's specs and the validator's examples."""
    paths = sorted(CORPUS.rglob("*.yaml")) if CORPUS.is_dir() else []
    paths += sorted((REPO / "specs").glob("*.yaml"))
    paths += sorted((EXAMPLES / "valid").glob("*.yaml")) + sorted((EXAMPLES / "invalid").glob("*.yaml"))
    texts = [_read(p) for p in paths]
    return texts or ["config:\n  title: x\n"]


_CORPUS: list[str] = []


def _base(rng: random.Random) -> str:
    if not _CORPUS:
        _CORPUS.extend(corpus_texts())
    return rng.choice(_CORPUS)


# -- generated and mutated (the fuzzer's original two classes) ------------------------------------------------------


def _scalar(rng: random.Random):
    kind = rng.randrange(6)
    if kind == 0:
        return rng.choice(ATTACKS + TYPES)
    if kind == 1:
        return "".join(chr(rng.randrange(32, 0x2FF)) for _ in range(rng.randrange(12)))
    if kind == 2:
        return rng.randrange(-(10**6), 10**6)
    if kind == 3:
        return rng.choice([0.5, -1.0, float("inf"), float("nan"), 1e300])
    return rng.choice([True, False, None])


def _tree(rng: random.Random, budget: list[int], depth: int = 0):
    if budget[0] <= 0 or depth > 5 or rng.random() < 0.4:
        budget[0] -= 1
        return _scalar(rng)
    if rng.random() < 0.4:
        return [_tree(rng, budget, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(KEYS): _tree(rng, budget, depth + 1) for _ in range(rng.randrange(5))}


def generated(rng: random.Random) -> str:
    data = {rng.choice(KEYS[:7]): _tree(rng, [40]) for _ in range(rng.randrange(1, 7))}
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def mutate(text: str, rng: random.Random, edits: int) -> str:
    for _ in range(edits):
        at = rng.randrange(len(text) + 1)
        choice = rng.randrange(3)
        if choice == 0:
            text = text[:at] + rng.choice(INSERTIONS) + text[at:]
        elif choice == 1:
            text = text[:at] + text[at + rng.randrange(1, 40) :]
        else:
            text = (
                text[:at]
                + "".join(chr(rng.randrange(32, 0x2FF)) for _ in range(rng.randrange(8)))
                + text[at:]
            )
    return text


def mutated(rng: random.Random) -> str:
    return mutate(_base(rng), rng, rng.randrange(1, 7))


# -- scalar tags --------------------------------------------------------------------------------------------------

_BAD_TIMESTAMPS = [
    "2020-13-45", "2020-02-30", "2020-1-1T25:00:00", "x", "", "2020-01-01 10:61:00", "99999-01-01", "0000-01-01",
    "2020-01-01T00:00:00+25:00", "2020-01-01 1:2:3.",
]  # fmt: skip
MALFORMED = {
    "null": ["abc", "~x", "nil"],
    "bool": ["maybe", "1", "", "yess", "TRUE!", "y"],
    "int": ["x", "0x", "0b2", "1.5", "", "0o9", "1__", "--1", "9" * 5000, ":1", "1:", "0x" + "g" * 3, "١٢"],
    "float": ["abc", "1.2.3", "", "1e", ".", "--1.0", "1:2.5x", "inf", "1e99999", "0x1p3"],
    "binary": ["not base64!", "A", "====", "AAAA=AAA", "\u00e9\u00e9"],
    "timestamp": _BAD_TIMESTAMPS,
    "str": ["ok", ""],
    "seq": ["x", "1"],
    "map": ["x", ""],
    "set": ["x"],
    "omap": ["x"],
    "pairs": ["x"],
    "merge": ["x"],
    "value": ["x"],
}
TAGGED_COLLECTIONS = [
    "!!int [1]", "!!bool {a: 1}", "!!str [a]", "!!timestamp {}", "!!set {a: [1]}", "!!omap [a, b]",
    "!!pairs {a: 1}", "!!omap [{a: !!float x}]", "!!set {!!int x: null}", "!!omap [[1, 2]]", "!!seq {a: 1}",
    "!!map [1, 2]", "!!binary [AAAA]", "!!null [x]", "!!pairs [[1]]",
]  # fmt: skip
# Plain scalars that YAML 1.1 resolves to a type they do not fit, so PyYAML's constructor fails.
IMPLICIT_TRAPS = [
    "2024-02-30",
    "2023-02-29",
    "2020-13-01",
    "1" * 5000,
    "-" + "7" * 4400,
    "2020-01-01 24:00:00",
]
_KEY_VALUE = re.compile(r"^([ \t]*(?:- )?[\w.$-]+:[ \t]+)(\S.*)$", re.MULTILINE)


def _replace_values(text: str, rng: random.Random, make: Callable[[], str], count: int) -> str:
    """Replace the values of ``count`` random ``key: value`` lines with ``make()``."""
    matches = list(_KEY_VALUE.finditer(text))
    if not matches:
        return text + f"x: {make()}\n"
    for m in sorted(rng.sample(matches, min(count, len(matches))), key=lambda m: -m.start()):
        text = text[: m.start(2)] + make() + text[m.end(2) :]
    return text


def scalar_tags(rng: random.Random) -> str:
    def make() -> str:
        roll = rng.random()
        if roll < 0.6:
            tag = rng.choice(list(MALFORMED))
            value = rng.choice(MALFORMED[tag])
            return f"!!{tag} {value}" if rng.random() < 0.7 else f'!!{tag} "{value}"'
        if roll < 0.8:
            return rng.choice(TAGGED_COLLECTIONS)
        if roll < 0.9:
            return rng.choice(IMPLICIT_TRAPS)
        return (
            f"[{rng.choice(IMPLICIT_TRAPS)}, !!{rng.choice(list(MALFORMED))} {rng.choice(MALFORMED['int'])}]"
        )

    text = _replace_values(_base(rng), rng, make, rng.randrange(1, 6))
    if rng.random() < 0.2:  # a tagged key
        text = f"!!{rng.choice(list(MALFORMED))} {rng.choice(MALFORMED['float'])}: 1\n" + text
    return text


# -- alias bombs ----------------------------------------------------------------------------------------------------


def alias_bombs(rng: random.Random) -> str:
    kind = rng.choice(["sequence", "mapping", "merge", "merge-chain", "recursive", "undefined", "reuse"])
    width, depth = rng.randrange(2, 11), rng.randrange(2, 13)
    lines = ["config:", "  title: Laughs"]
    if kind == "sequence":
        lines.append("a0: &a0 [" + ", ".join(['"lol"'] * width) + "]")
        lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, depth)]
    elif kind == "mapping":
        lines.append("a0: &a0 {" + ", ".join(f"k{j}: lol" for j in range(width)) + "}")
        lines += [
            f"a{i}: &a{i} {{" + ", ".join(f"k{j}: *a{i - 1}" for j in range(width)) + "}"
            for i in range(1, depth)
        ]
    elif kind == "merge":
        lines.append("a0: &a0 {" + ", ".join(f"k{j}: lol" for j in range(width)) + "}")
        lines += [f"a{i}: &a{i} {{<<: [" + ", ".join([f"*a{i - 1}"] * width) + "]}" for i in range(1, depth)]
    elif kind == "merge-chain":
        links = rng.randrange(50, 1200)
        lines.append("a0: &a0 {k0: 0}")
        lines += [f"a{i}: &a{i} {{<<: *a{i - 1}, k{i}: {i}}}" for i in range(1, links)]
    elif kind == "recursive":
        lines += rng.choice([["a: &a [*a]"], ["a: &a {k: *a}"], ["a: &a {<<: *a}"], ["a: &a [1, [2, *a]]"]])
    elif kind == "undefined":
        lines.append(f"a: *{rng.choice(['nope', 'a', 'x1'])}")
    else:  # harmless reuse: must not be refused, and must stay fast
        lines.append("defaults: &d {type: table, page_size: 5}")
        lines += [f"v{i}: *d" for i in range(rng.randrange(1, 200))]
    text = "\n".join(lines) + "\n"
    # Sometimes inside a real spec, so the checks walk what the aliases expand to.
    return text if rng.random() < 0.5 else _base(rng).rstrip("\n") + "\n" + text.split("\n", 2)[2]


# -- Unicode line separators ------------------------------------------------------------------------------------


def line_separators(rng: random.Random) -> str:
    text = _base(rng)
    for _ in range(rng.randrange(1, 6)):
        sep = rng.choice(SEPARATORS)
        where = rng.randrange(4)
        matches = list(_KEY_VALUE.finditer(text))
        if where == 0 and matches:  # inside a quoted value
            m = rng.choice(matches)
            value = m.group(2).strip("\"'")
            cut = rng.randrange(len(value) + 1)
            text = text[: m.start(2)] + '"' + value[:cut] + sep + value[cut:] + '"' + text[m.end(2) :]
        elif where == 1 and matches:  # inside a key
            m = rng.choice(matches)
            key_end = m.start(1) + m.group(1).rindex(":")
            text = text[:key_end] + sep + text[key_end:]
        elif where == 2:  # in a comment
            lines = text.split("\n")
            i = rng.randrange(len(lines))
            lines[i] += f"  # note{sep}more{sep if rng.random() < 0.5 else ''}"
            text = "\n".join(lines)
        else:
            at = rng.randrange(len(text) + 1)
            text = text[:at] + sep + text[at:]
    return text


# -- line ends and byte order marks ----------------------------------------------------------------------------


def line_ends(rng: random.Random) -> str:
    text = _base(rng)
    if rng.random() < 0.5:
        text = mutate(text, rng, rng.randrange(1, 3))
    style = rng.choice(["crlf", "cr", "mixed", "lf"])
    if style == "crlf":
        text = text.replace("\n", "\r\n")
    elif style == "cr":
        text = text.replace("\n", "\r")
    elif style == "mixed":
        text = "".join(part + rng.choice(["\n", "\r\n", "\r"]) for part in text.split("\n"))
    if rng.random() < 0.3:
        text = text.rstrip("\r\n")  # no final line end
    if rng.random() < 0.6:
        text = "\ufeff" + text
    if rng.random() < 0.05:
        text = rng.choice(["", "\ufeff", "\r", "\r\n", "\ufeff\r\n", "\n\n\n"])
    return text


# -- huge inputs and deep nesting ----------------------------------------------------------------------------------

DEFAULT_MAX_BYTES = 1_500_000
MAX_BYTES = DEFAULT_MAX_BYTES  # the largest `huge` case; the test suite lowers it (`configure`)


def configure(max_bytes: int) -> None:
    global MAX_BYTES
    MAX_BYTES = max_bytes


def _size(rng: random.Random) -> int:
    """Log-uniform between 10 kB and MAX_BYTES: mostly moderate, some at the top."""
    low = min(10_000, MAX_BYTES)
    return int(low * (MAX_BYTES / low) ** rng.random())


def huge(rng: random.Random) -> str:
    kind = rng.choice(
        ["flow-ints", "flow-strings", "flow-maps", "block-list", "long-scalar", "many-keys", "jinja",
         "unclosed-jinja", "deep-flow", "deep-block", "deep-wide", "deep-limit", "long-comment"]
    )  # fmt: skip
    size = _size(rng)
    head = "config:\n  title: Big\n"
    if kind == "flow-ints":
        n = size // 8
        return head + "x: [" + ", ".join(str(rng.randrange(10**6)) for _ in range(n)) + "]\n"
    if kind == "flow-strings":
        n = size // 10
        return head + "x: [" + ", ".join(f"s{i}" if i % 3 else f'"q{i}"' for i in range(n)) + "]\n"
    if kind == "flow-maps":
        n = size // 40
        return (
            head
            + "layouts: ["
            + ", ".join(f"{{title: t{i}, views: [{{type: table}}]}}" for i in range(n))
            + "]\n"
        )
    if kind == "block-list":
        n = size // 12
        return head + "x:\n" + "".join(f"  - item{i}\n" for i in range(n))
    if kind == "long-scalar":
        quote = rng.choice(["", '"', "'"])
        return head + f"  logo: {quote}" + "a" * size + f"{quote}\n"
    if kind == "many-keys":
        n = size // 14
        return (
            head
            + "variables:\n"
            + "".join(f"  v{i}: {{type: constant, value: {i}}}\n" for i in range(n // 3))
        )
    if kind == "jinja":
        n = size // 24
        return head + "x:\n" + "".join(f"  - \"{{{{ env('V{i}') }}}}\"\n" for i in range(n))
    if kind == "unclosed-jinja":
        return head + "x: " + "{{ " * (size // 3) + "\n"
    if kind == "deep-flow":
        depth = rng.randrange(50, 20_000)
        return head + "x: " + "[" * depth + "1" + "]" * depth + "\n"
    if kind == "deep-block":
        depth = rng.randrange(20, 400)
        return head + "".join("  " * i + f"k{i}:\n" for i in range(depth)) + "  " * depth + "leaf\n"
    if kind == "deep-wide":  # a large list far down: every check carries a path as long as the depth
        depth = rng.randrange(10, 63)
        items = ", ".join("{type: table, a: 1}" for _ in range(size // 21))
        return "layouts: [{title: x, views: " + "[" * depth + items + "]" * depth + "}]\n"
    if kind == "deep-limit":  # either side of the validator's limit (64 levels, the top mapping counts)
        depth = rng.choice([61, 62, 63, 64, 65, 66])
        opener = rng.choice(["[", "{a: "])
        closer = "]" if opener == "[" else "}"
        return "x: " + opener * depth + "1" + closer * depth + "\n"
    return head + "# " + "c" * size + "\n"


# -- non-string `type:` ---------------------------------------------------------------------------------------

NON_STRINGS = [
    "[a, b]", "[]", "{}", "{file: 1}", "3", "1.5", "true", "null", "~", "2024-01-01", "[[table]]",
    "{type: table}", "!!binary AAAA", "-1", "[1, {a: b}]",
]  # fmt: skip
_TYPE_VALUE = re.compile(r"(\btype:[ \t]*)([^\n,}\]#]+)")
_SKELETON = """\
variables:
  v: {type: T}
sources:
  sales:
    type: T
    tables:
      sales: sales.csv
pipelines:
  main:
    source: sales
    filters:
      - type: T
        field: region
    transforms:
      - type: T
        columns: [region]
    sql_transforms:
      - type: T
defaults:
  filters:
    - type: T
config:
  template: {type: T}
layouts:
  - title: T
    pipeline: main
    layout: {type: T}
    views:
      - type: T
        table: sales
"""


def non_string_type(rng: random.Random) -> str:
    if rng.random() < 0.4:
        # Every family at once, against data the checks can read (the runner puts sales.csv beside the spec).
        return re.sub(r"type: T", lambda _: "type: " + rng.choice([*NON_STRINGS, "table", "file"]), _SKELETON)
    text = _base(rng)
    matches = list(_TYPE_VALUE.finditer(text))
    if not matches:
        return text + f"type: {rng.choice(NON_STRINGS)}\n"
    for m in sorted(rng.sample(matches, rng.randrange(1, len(matches) + 1)), key=lambda m: -m.start()):
        text = text[: m.start(2)] + rng.choice(NON_STRINGS) + text[m.end(2) :]
    return text


CLASSES: dict[str, Callable[[random.Random], str]] = {
    "generated": generated,
    "mutated": mutated,
    "scalar-tags": scalar_tags,
    "alias-bombs": alias_bombs,
    "line-separators": line_separators,
    "line-ends": line_ends,
    "huge": huge,
    "non-string-type": non_string_type,
}
# Shares of a run: the huge class costs up to a second a case, so it gets few of them.
WEIGHTS = {
    "generated": 1.5,
    "mutated": 2.0,
    "scalar-tags": 1.5,
    "alias-bombs": 1.0,
    "line-separators": 1.0,
    "line-ends": 1.0,
    "huge": 0.25,
    "non-string-type": 1.0,
}


def case_text(seed: int, name: str, index: int) -> str:
    return CLASSES[name](random.Random(f"{seed}/{name}/{index}"))


def schedule(cases: int, seed: int, only: str | None = None) -> list[tuple[str, int]]:
    """``cases`` (class, index) pairs split by `WEIGHTS`, in a seeded shuffled order (so a time-limited run
    still samples every class)."""
    names = [only] if only else list(CLASSES)
    total = sum(WEIGHTS[n] for n in names)
    counts = {n: max(1, round(cases * WEIGHTS[n] / total)) for n in names}
    counts[names[0]] += cases - sum(counts.values())  # rounding: the total is exactly `cases`
    order = [(n, i) for n in names for i in range(counts[n])]
    random.Random(seed).shuffle(order)
    return order
