"""``/healthz``, ``/readyz``, ``/metrics`` and ``/data/{app}/{pipeline}`` as FastAPI routes under the mount's prefix.

What each answers is computed by the same functions as ``lumen-ext serve``'s Tornado handlers
(:mod:`lumen_ext.serving.endpoints`); only the request and response types differ. Every route depends on the
mount's guard: the data route because it shows what the page shows, the probes because the host application's
routes are usually all behind its login (``public_probes=True`` serves them without it, for an orchestrator).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response

from lumen_ext.serving import endpoints

__all__ = ["side_router"]

_NO_STORE = {"Cache-Control": "no-store"}


def _response(answer: endpoints.Answer) -> Response:
    headers = dict(answer.headers)
    media_type = headers.pop("Content-Type", None)
    return Response(answer.body, status_code=answer.status, headers=headers, media_type=media_type)


def side_router(
    specs: Mapping[str, Path],
    guard: Callable[..., Any],
    live_sessions: Callable[[], dict[str, int]],
    *,
    data: bool = True,
    validate: bool = True,
    data_checks: bool = True,
    max_rows: int = 1_000_000,
    public_probes: bool = False,
    ready_timeout: float = 10.0,
    ready_ttl: float = 5.0,
) -> APIRouter:
    """The routes, relative to the prefix; ``live_sessions()`` gives the open sessions per app for ``/metrics``."""
    readiness = endpoints.Readiness(specs, ready_timeout, ready_ttl)
    probe_dependencies = [] if public_probes else [Depends(guard)]
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz", dependencies=probe_dependencies)
    def healthz() -> Response:
        return PlainTextResponse("ok\n", headers=_NO_STORE)

    @router.get("/readyz", dependencies=probe_dependencies)
    async def readyz() -> Response:
        status, result = await endpoints.ready_answer(readiness)
        body = json.dumps(result, indent=2, default=str)
        return Response(body, status_code=status, headers=_NO_STORE, media_type="application/json")

    @router.get("/metrics", dependencies=probe_dependencies)
    def metrics() -> Response:
        text = endpoints.metrics_text(live_sessions())
        return Response(text, headers=_NO_STORE, media_type=endpoints.METRICS_CONTENT_TYPE)

    if data:
        request_data = endpoints.DataRequest(specs, validate, data_checks, max_rows)

        @router.get("/data/{app}/{pipeline}")
        async def pipeline_data(
            app: str,
            pipeline: str,
            request: Request,
            claims: dict[str, Any] | None = Depends(guard),
        ) -> Response:
            fmt = request.query_params.get("format", "json")
            values: dict[str, list[str]] = {}
            for key, value in request.query_params.multi_items():
                if key != "format":
                    values.setdefault(key, []).append(value)
            return _response(await request_data.answer(app, pipeline, fmt, values, claims))

    return router
