"""Probes, metrics and a read-only data endpoint, served by the dashboard's own Tornado server.

``routes(spec_paths)`` returns ``(pattern, handler, kwargs)`` tuples for ``pn.serve(extra_patterns=...)``:

* ``GET /healthz``: liveness. 200 as long as the IOLoop answers; nothing else is checked, so an
  orchestrator restarts the process only when it is truly stuck.
* ``GET /readyz``: readiness of this worker to serve its dashboards. 200 when every table of every spec's
  sources can be opened (a Parquet footer, a CSV's first bytes, DuckDB's ``DESCRIBE``); 503 with the reasons
  otherwise. JSON either way. A shared cache tier that does not answer (Redis down) is *not* unreadiness: the
  worker serves from its own memory tier meanwhile, so the report says ``"cache": {"degraded": ...}`` and
  ``/metrics`` has ``lumen_ext_cache_second_tier_up 0``, and a load balancer keeps the pool. A spec Lumen rejects
  is listed under ``invalid_specs`` but does not make the process unready: its page shows the diagnostics, and
  the other apps keep serving.
* ``GET /metrics``: Prometheus text (:mod:`lumen_ext.serving.metrics`), open sessions from Bokeh's own
  bookkeeping and the stage cache's ``stats()``.
* ``GET /data/{app}/{pipeline}?format=json|csv|parquet&{field}={value}...``: the pipeline's current result
  with those filter values (repeat a field for multi-select; ``lo,hi`` for a range). It asks for the same
  login as the page (the server's auth provider), applies the spec's ``auth:`` block to the same OAuth
  claims Panel gives the page, and refuses a spec with validation errors (422, the diagnostics as JSON),
  as the page would show its error page instead of data.

Probes and metrics are unauthenticated, as orchestrators and Prometheus expect; bind them to a private
network or block them in the proxy (``docs/deploy.md``).

The Tornado handlers only translate requests and responses: what each endpoint answers is computed by plain
functions and classes (:class:`Readiness` with :func:`ready_answer`, :func:`metrics_text`, :class:`DataRequest`
giving an :class:`Answer`), which the FastAPI routes of :mod:`lumen_ext.fastapi` call too, so both doors answer
alike.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bokeh.server.views.auth_request_handler import AuthRequestHandler
from tornado.web import RequestHandler, authenticated

from lumen_ext.security.errors import record_error
from lumen_ext.serving import metrics as _metrics

__all__ = [
    "METRICS_CONTENT_TYPE",
    "Answer",
    "DataRequest",
    "Readiness",
    "auth_checker",
    "error_answer",
    "lumen_authorized",
    "metrics_text",
    "ready_answer",
    "routes",
]

METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
FORMATS = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
}

# Lumen work is serialised by a lock anyway (pipeline_data._lumen_lock); one thread keeps it off the IOLoop.
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lumen-ext-data")


def routes(
    spec_paths: Iterable[str | os.PathLike],
    *,
    data: bool = True,
    data_checks: bool = True,
    validate: bool = True,
    max_rows: int = 1_000_000,
    ready_timeout: float = 10.0,
    ready_ttl: float = 5.0,
) -> list[tuple[str, type, dict[str, Any]]]:
    """Tornado routes of the endpoints for the dashboards at ``spec_paths`` (apps are named by file stem).

    The session and interaction counters come from the hooks table's ``serving.metrics`` hooks (the ``serve``
    profile enables them). ``data=False`` leaves the data endpoint out; ``validate``/``data_checks``
    mirror ``lumen-ext serve --no-validate``/``--no-data``.
    """
    specs = {Path(p).stem: Path(p).resolve() for p in spec_paths}
    readiness = Readiness(specs, ready_timeout, ready_ttl)
    table: list[tuple[str, type, dict[str, Any]]] = [
        (r"/healthz", HealthHandler, {}),
        (r"/readyz", ReadyHandler, {"readiness": readiness}),
        (r"/metrics", MetricsHandler, {}),
    ]
    if data:
        options = {"specs": specs, "validate": validate, "data_checks": data_checks, "max_rows": max_rows}
        table.append((r"/data/([^/]+)/([^/]+)", DataHandler, options))
    return table


class HealthHandler(RequestHandler):
    def get(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.write("ok\n")


class Readiness:
    """Source and cache-tier checks, remembered for ``ttl`` seconds: probes arrive every few seconds."""

    def __init__(self, specs: Mapping[str, Path], timeout: float, ttl: float):
        self.specs, self.timeout, self.ttl = specs, timeout, ttl
        self._lock = threading.Lock()
        self._last: tuple[float, dict[str, Any]] | None = None

    def check(self) -> dict[str, Any]:
        from lumen_ext.serving.pipeline_data import check_sources

        with self._lock:
            if self._last is not None and time.monotonic() - self._last[0] < self.ttl:
                return self._last[1]
        from lumen.validation import ValidationError

        problems: dict[str, str] = {}
        invalid: dict[str, str] = {}
        for app, path in self.specs.items():
            try:
                for source, error in check_sources(path).items():
                    if error is not None:
                        problems[f"{app}.sources.{source}"] = _plain(error)
            except ValidationError as exc:
                # Not a readiness problem: the page shows the diagnostics and the other apps still serve.
                invalid[app] = _plain(str(exc))
            except Exception as exc:  # an unreadable spec file
                problems[app] = _plain(f"{type(exc).__name__}: {exc}")
        cache = _cache_status()
        result = {"ready": not problems, "problems": problems, "invalid_specs": invalid, "cache": cache}
        with self._lock:
            self._last = (time.monotonic(), result)
        return result


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text).strip()  # Lumen bolds the bad key with ANSI codes


def _cache_status() -> dict[str, Any]:
    from lumen_ext.cache import active_store

    store = active_store()
    if store is None:
        return {"installed": False}
    second = store.second
    if second is None:
        return {"installed": True, "second_tier": None}
    status: dict[str, Any] = {
        "installed": True,
        "second_tier": getattr(second, "name", type(second).__name__),
    }
    if hasattr(second, "ping"):
        if not second.ping():
            status["degraded"] = (
                "the Redis cache tier does not answer; serving from this process's memory tier"
            )
    elif hasattr(second, "directory") and not os.access(second.directory, os.W_OK | os.X_OK):
        status["degraded"] = f"cache directory {second.directory} is not writable; serving from memory"
    status["second_tier_up"] = "degraded" not in status
    return status


async def ready_answer(readiness: Readiness) -> tuple[int, dict[str, Any]]:
    """(status, report) of ``/readyz``: the checks run off the event loop, bounded by the readiness timeout."""
    loop = asyncio.get_running_loop()
    try:
        result = await asyncio.wait_for(loop.run_in_executor(_executor, readiness.check), readiness.timeout)
    except TimeoutError:
        result = {"ready": False, "problems": {"timeout": f"checks took over {readiness.timeout} s"}}
    return (200 if result["ready"] else 503), result


def metrics_text(live: Mapping[str, int]) -> str:
    """The Prometheus text of ``/metrics``; ``live`` is the open sessions per app, from the server's own bookkeeping
    (Bokeh's Tornado application, or bokeh-fastapi's application contexts)."""
    from lumen_ext.cache import stats
    from lumen_ext.serving import client_limits
    from lumen_ext.views import drawings, patching

    views = {"plot_memo": patching.memo.stats.as_dict(), "drawings": drawings.memo.stats.as_dict()}
    cache = _cache_status()
    up = {"second_tier_up": int(cache["second_tier_up"])} if "second_tier_up" in cache else {}
    clients = client_limits.inbox_stats()
    return _metrics.render_prometheus(_metrics.METRICS.snapshot(), live, stats(), views, up, clients)


class ReadyHandler(RequestHandler):
    def initialize(self, readiness: Readiness) -> None:
        self.readiness = readiness

    async def get(self) -> None:
        status, result = await ready_answer(self.readiness)
        self.set_status(status)
        self.set_header("Cache-Control", "no-store")
        self.set_header("Content-Type", "application/json")
        self.write(json.dumps(result, indent=2, default=str))


class MetricsHandler(RequestHandler):
    def get(self) -> None:
        app = self.application  # the BokehTornado application the routes were added to
        live = {path.strip("/") or "/": len(app.get_sessions(path)) for path in app.app_paths}
        self.set_header("Content-Type", METRICS_CONTENT_TYPE)
        self.set_header("Cache-Control", "no-store")
        self.write(metrics_text(live))


class DataHandler(AuthRequestHandler):
    def initialize(self, specs: Mapping[str, Path], validate: bool, data_checks: bool, max_rows: int) -> None:
        self.specs, self.validate, self.data_checks, self.max_rows = specs, validate, data_checks, max_rows

    def _error(self, status: int, message: str, **extra: Any) -> None:
        self._send(error_answer(status, message, **extra))

    def _send(self, answer: Answer) -> None:
        self.set_status(answer.status)
        for name, value in answer.headers.items():
            self.set_header(name, value)
        self.write(answer.body)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Whatever escaped ``get`` (Tornado's default is an HTML page): JSON with an error id."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        error_id = record_error(exc, "answering /data") if exc is not None else None
        self._error(status_code, self._reason, error_id=error_id)

    @authenticated  # the same login as the page: the server's auth provider decides
    async def get(self, app: str, pipeline: str) -> None:
        fmt = self.get_query_argument("format", "json")
        values = {k: self.get_query_arguments(k) for k in self.request.query_arguments if k != "format"}
        request = DataRequest(self.specs, self.validate, self.data_checks, self.max_rows)
        self._send(await request.answer(app, pipeline, fmt, values, self._user_info()))

    def _user_info(self) -> dict[str, Any] | None:
        """The OAuth claims Panel derives for a session from the same cookies (``panel.io.state.user_info``)."""
        from panel.config import config
        from panel.io.state import state
        from panel.util import decode_token

        if self.get_cookie("is_guest"):
            return {"user": "guest", "username": "guest"}
        if not config.cookie_secret:
            return None
        raw = self.get_secure_cookie("id_token", max_age_days=config.oauth_expiry)
        if raw is None:
            return None
        token = (
            raw.decode("utf-8") if state.encryption is None else state.encryption.decrypt(raw).decode("utf-8")
        )
        return decode_token(token)


@dataclass(frozen=True)
class Answer:
    """An endpoint's response, whichever server sends it (Tornado's handlers or the FastAPI routes)."""

    status: int
    body: bytes | str
    headers: dict[str, str] = field(default_factory=dict)


def error_answer(status: int, message: str, **extra: Any) -> Answer:
    body = json.dumps({"error": message, "status": status, **extra}, default=str)
    return Answer(status, body, {"Content-Type": "application/json", "Cache-Control": "no-store"})


@dataclass(frozen=True)
class DataRequest:
    """``/data/{app}/{pipeline}`` for the apps ``specs`` (stem -> path): checks, computation and encoding."""

    specs: Mapping[str, Path]
    validate: bool = True
    data_checks: bool = True
    max_rows: int = 1_000_000

    async def answer(
        self,
        app: str,
        pipeline: str,
        fmt: str,
        values: Mapping[str, list[str]],
        user_info: Mapping[str, Any] | None,
    ) -> Answer:
        """The response for one request; ``user_info`` is the login's claims (None: no login), which the spec's
        ``auth:`` block is applied to."""
        from lumen_ext.serving.pipeline_data import DataRequestError, pipeline_frame

        spec = self.specs.get(app)
        if spec is None:
            return error_answer(404, f"no app {app!r}; served apps: {', '.join(sorted(self.specs))}")
        if fmt not in FORMATS:
            return error_answer(400, f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
        loop = asyncio.get_running_loop()
        if self.validate:
            report = await loop.run_in_executor(_executor, _validation_report, spec, self.data_checks)
            if report.errors:
                diagnostics = [d.to_dict() for d in report.diagnostics if d.severity == "error"]
                return error_answer(422, f"{spec.name} has validation errors", diagnostics=diagnostics)
        if not lumen_authorized(spec, user_info):
            return error_answer(403, "the spec's auth: block does not admit this user")
        try:
            frame = await loop.run_in_executor(_executor, pipeline_frame, spec, pipeline, values)
        except DataRequestError as exc:
            return error_answer(exc.status, str(exc))
        except OSError as exc:  # a data file missing or unreadable: the data, not the request, is at fault
            error_id = record_error(exc, f"reading pipeline {pipeline!r} of {app!r} for /data")
            return error_answer(503, "the pipeline's data cannot be read right now", error_id=error_id)
        except (
            Exception
        ) as exc:  # a corrupt file, a failing query: JSON with the id the log repeats, never HTML
            error_id = record_error(exc, f"computing pipeline {pipeline!r} of {app!r} for /data")
            return error_answer(500, "the pipeline could not be computed", error_id=error_id)
        if frame is None:
            return error_answer(500, f"pipeline {pipeline!r} produced no data")
        if len(frame) > self.max_rows:
            return error_answer(413, f"{len(frame)} rows exceed this endpoint's limit of {self.max_rows}")
        body = await loop.run_in_executor(_executor, _encode, frame, fmt)
        headers = {"Content-Type": FORMATS[fmt], "Cache-Control": "no-store"}
        if fmt != "json":
            headers["Content-Disposition"] = f'attachment; filename="{app}-{pipeline}.{fmt}"'
        return Answer(200, body, headers)


_reports: dict[tuple[Path, bool], tuple[tuple[int, int], Any]] = {}


def _validation_report(spec: Path, data_checks: bool) -> Any:
    """``validate_file``, re-run only when the spec changes (each page load re-validates, too)."""
    from lumen_ext.validation import validate_file

    stat = spec.stat()
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _reports.get((spec, data_checks))
    if cached is None or cached[0] != stamp:
        cached = (stamp, validate_file(spec, data=data_checks))
        _reports[(spec, data_checks)] = cached
    return cached[1]


def auth_checker(spec: Path) -> Any:
    """The spec's ``auth:`` block as Lumen builds it (``AuthSpec``, its ``plugins:`` group mappings applied), or
    None when it has none."""
    from lumen.config import load_yaml
    from lumen.dashboard import AuthSpec

    auth = (load_yaml(spec.read_text(encoding="utf-8")) or {}).get("auth") or {}
    if not auth:
        return None
    checker = AuthSpec.from_spec(dict(auth))
    return checker if checker.spec else None


def lumen_authorized(spec: Path, user_info: Mapping[str, Any] | None) -> bool:
    """Lumen's ``AuthSpec.authorized`` (dashboard.py:463-484) on the given claims instead of the session's."""
    from lumen.config import config as lumen_config

    checker = auth_checker(spec)
    if checker is None:
        return True
    if user_info is None:
        return bool(lumen_config.dev)  # as Lumen: no login means no access, except under --dev
    for key, wanted in checker.spec.items():
        wanted = wanted if isinstance(wanted, list) else [wanted]
        wanted = [_norm(v, checker.case_sensitive) for v in wanted]
        if key in user_info:
            have = user_info[key] if isinstance(user_info[key], list) else [user_info[key]]
            have = [_norm(v, checker.case_sensitive, strip=False) for v in have]
            if not any(h == w for w in wanted for h in have):
                return False
    return True


def _norm(value: Any, case_sensitive: bool, strip: bool = True) -> Any:
    if isinstance(value, str):
        value = value if case_sensitive else value.lower()
        return value.strip() if strip else value
    return value


def _encode(frame: Any, fmt: str) -> bytes | str:
    import pandas as pd

    if not isinstance(frame.index, pd.RangeIndex) or any(n is not None for n in frame.index.names):
        frame = frame.reset_index()  # e.g. `aggregate` leaves its `by` columns in the index
    if fmt == "csv":
        return frame.to_csv(index=False)
    if fmt == "parquet":
        sink = io.BytesIO()
        frame.to_parquet(sink, index=False)
        return sink.getvalue()
    return frame.to_json(orient="records", date_format="iso")
