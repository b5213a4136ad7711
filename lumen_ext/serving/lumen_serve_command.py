"""What a ``lumen serve`` command line asks for, read without Panel's parser (still being imported when the door
in :mod:`lumen_ext.serving.lumen_serve` runs): which specs, and which URL browsers will reach them at."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "PUBLIC_URL_ENV",
    "YAML_SUFFIXES",
    "ServeCommand",
    "loopback_by_default",
    "public_url_for",
    "serve_command",
]

PUBLIC_URL_ENV = "LUMEN_EXT_PUBLIC_URL"
YAML_SUFFIXES = (".yaml", ".yml")
_SCRIPTS = {"lumen", "lumen-ai", "lumen-spec"}
_MAIN_MODULES = {"lumen.command", "lumen.command.ai"}
_APP_SUFFIXES = (".py", ".ipynb", ".md", ".html")  # what `panel serve` would serve instead of a spec
_DEFAULT_PORT = 5006  # Bokeh's


@dataclass(frozen=True)
class ServeCommand:
    """What the door needs from a ``lumen serve`` command line (read without Panel's parser, which is still
    being imported when the door runs)."""

    specs: tuple[Path, ...]
    port: int
    address: str | None
    prefix: str
    https: bool
    origins: tuple[str, ...]
    unix_socket: bool
    rest_provider: str | None
    log_level: str | None
    autoreload: bool = False
    """``--autoreload`` or ``--dev``: Panel watches the specs and reloads their pages (lumen-ext adds the rest)."""
    num_procs: int = 1


def _option_values(tokens: list[str], name: str) -> list[str]:
    """Every value given to ``--name`` (``--name VALUE`` or ``--name=VALUE``)."""
    values = []
    for i, token in enumerate(tokens):
        if token == name and i + 1 < len(tokens):
            values.append(tokens[i + 1])
        elif token.startswith(name + "="):
            values.append(token.split("=", 1)[1])
    return values


def serve_command(argv: list[str], main_module: str | None = None) -> ServeCommand | None:
    """The ``lumen serve`` of YAML specs that ``argv`` runs, else None.

    Lumen routes a command whose files are all YAML to its dashboard handler (``lumen/command/ai.py``,
    ``LumenAIServe.invoke``), anything else to Lumen AI. Without Panel's parser, the files are taken to be the
    tokens naming existing files or folders that are not an option's value; a Python, notebook or Markdown
    app, a folder or a data file among them means it is not a dashboard command.
    """
    if len(argv) < 2 or argv[1] != "serve":
        return None
    script = Path(argv[0]).name.removesuffix(".exe").removesuffix("-script.py")
    if script not in _SCRIPTS and main_module not in _MAIN_MODULES:
        return None
    tokens = argv[2:]
    if "--args" in tokens:  # Bokeh passes everything after --args to the app
        tokens = tokens[: tokens.index("--args")]
    specs, others = [], []
    for i, token in enumerate(tokens):
        if token.startswith("-"):
            continue
        previous = tokens[i - 1] if i else ""
        is_value = previous.startswith("--") and "=" not in previous
        path = Path(token)
        if token.lower().endswith(YAML_SUFFIXES) and path.is_file():
            specs.append(path.resolve())
        elif not is_value and (path.is_dir() or token.lower().endswith(_APP_SUFFIXES) or path.is_file()):
            others.append(token)
    if not specs or others:
        return None
    ports = _option_values(tokens, "--port")
    addresses = _option_values(tokens, "--address")
    prefixes = _option_values(tokens, "--prefix")
    rest = _option_values(tokens, "--rest-provider")
    levels = _option_values(tokens, "--log-level")
    procs = _option_values(tokens, "--num-procs")
    try:
        port = int(ports[-1]) if ports else _DEFAULT_PORT
        num_procs = int(procs[-1]) if procs else 1
    except ValueError:
        return None  # Bokeh's parser will refuse it; nothing to open a door for
    return ServeCommand(
        specs=tuple(specs),
        port=port,
        address=addresses[-1] if addresses else None,
        prefix=("/" + prefixes[-1].strip("/")).rstrip("/") if prefixes else "",
        https=bool(_option_values(tokens, "--ssl-certfile")),
        origins=tuple(_option_values(tokens, "--allow-websocket-origin")),
        unix_socket=bool(_option_values(tokens, "--unix-socket")),
        rest_provider=rest[-1] if rest else None,
        log_level=levels[-1] if levels else None,
        autoreload=any(t in ("--autoreload", "--dev") for t in tokens),
        num_procs=num_procs,
    )


def _origins(command: ServeCommand, environ: dict[str, str]) -> list[str]:
    """The hosts Bokeh accepts pages from: ``--allow-websocket-origin``, else ``BOKEH_ALLOW_WS_ORIGIN``."""
    if command.origins:
        return list(command.origins)
    return [o.strip() for o in environ.get("BOKEH_ALLOW_WS_ORIGIN", "").split(",") if o.strip()]


def public_url_for(command: ServeCommand, environ: dict[str, str]) -> str | None:
    """Where browsers reach the server, which Panel's CDN roots must name absolutely (see ``offline``).

    ``LUMEN_EXT_PUBLIC_URL`` when set; else the first allowed WebSocket origin without a wildcard (Bokeh
    accepts pages only from those hosts); else the bind address and port, ``localhost`` when no address was
    typed or it is all interfaces, as Bokeh prints it. None behind a Unix socket: no URL can be derived.
    """
    if environ.get(PUBLIC_URL_ENV):
        return environ[PUBLIC_URL_ENV].rstrip("/")
    if command.unix_socket:
        return None
    scheme = "https" if command.https else "http"
    for origin in _origins(command, environ):
        if "*" not in origin:
            return f"{scheme}://{origin}{command.prefix}"
    host = command.address if command.address not in (None, "", "0.0.0.0", "::") else "localhost"
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    return f"{scheme}://{host}:{command.port}{command.prefix}"


def loopback_by_default(command: ServeCommand, environ: dict[str, str]) -> bool:
    """Whether the door binds 127.0.0.1, as ``lumen-ext serve`` does, where Bokeh would bind every interface.

    Only when nothing asks for other hosts: no ``--address``, no allowed WebSocket origin (without one Bokeh
    accepts pages from ``localhost`` only, so a browser elsewhere could load the page but never use it), no
    Unix socket. What binding every interface would add then is only exposure: the page's HTML and
    lumen-ext's ``/data`` and ``/metrics`` routes to the network.
    """
    return command.address is None and not command.unix_socket and not _origins(command, environ)
