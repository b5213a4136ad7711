"""The door's rewriting of a ``lumen serve`` command line before it re-executes it in the spec's folder: paths
typed for the start folder made absolute, and the port Bokeh would have chosen fixed in advance."""

from __future__ import annotations

from pathlib import Path

__all__ = ["absolute_if_exists", "with_absolute_paths", "with_port"]

# Bokeh's and Panel's `serve` options whose value is a path (bokeh/command/subcommands/serve.py,
# panel/command/serve.py); --dev and --static-dirs take several.
_PATH_OPTIONS = frozenset(
    {
        "--log-file",
        "--use-config",
        "--ico-path",
        "--ssl-certfile",
        "--ssl-keyfile",
        "--auth-module",
        "--index",
        "--basic-auth",
        "--oauth-error-template",
        "--auth-template",
        "--logout-template",
        "--basic-login-template",
        "--setup",
    }
)
_MULTI_PATH_OPTIONS = frozenset({"--dev", "--static-dirs"})


def with_port(tokens: list[str], port: int) -> list[str]:
    """``tokens`` with every ``--port`` value replaced by ``port``."""
    out = list(tokens)
    for i, token in enumerate(out):
        if token == "--port" and i + 1 < len(out):
            out[i + 1] = str(port)
        elif token.startswith("--port="):
            out[i] = f"--port={port}"
    return out


def absolute_if_exists(value: str, cwd: Path) -> str:
    """``value`` as an absolute path when it names something that exists relative to ``cwd``."""
    path = Path(value).expanduser()
    if path.is_absolute() or not (cwd / path).exists():
        return value
    return str((cwd / path).resolve())


def with_absolute_paths(tokens: list[str], specs: tuple[Path, ...], cwd: Path) -> list[str]:
    """``tokens`` (after ``serve``) with the specs and the values of Bokeh's and Panel's path options absolute.

    The server moves to the specs' folder; a relative path typed for the folder it was started from must keep
    naming the same file. Only paths that exist are rewritten, so nothing else changes meaning.
    """
    spec_set = set(specs)
    out, option = [], None
    for token in tokens:
        if token == "--args":  # the rest belongs to the app, untouched
            return out + tokens[len(out) :]
        if token.startswith("-"):
            name, eq, value = token.partition("=")
            option = name if name in _PATH_OPTIONS | _MULTI_PATH_OPTIONS else None
            if eq and option:
                token, option = f"{name}={_path_value(name, value, cwd)}", None
            out.append(token)
            continue
        if option is not None:
            out.append(_path_value(option, token, cwd))
            option = option if option in _MULTI_PATH_OPTIONS else None
        elif (cwd / token).resolve() in spec_set:
            out.append(str((cwd / token).resolve()))
        else:
            out.append(token)
    return out


def _path_value(option: str, value: str, cwd: Path) -> str:
    if option == "--static-dirs":  # ROUTE=DIRECTORY
        route, eq, folder = value.partition("=")
        return f"{route}={absolute_if_exists(folder, cwd)}" if eq else value
    return absolute_if_exists(value, cwd)
