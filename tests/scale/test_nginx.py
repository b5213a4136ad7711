"""The nginx example of docs/deploy.md: it parses, and it proxies a page, its WebSocket session and data."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from scale.helpers import free_port, serve
from support.bokeh_client import Session

DEPLOY_DOC = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(NGINX), reason="nginx is not installed (apt-get install nginx)"),
]


def documented_site(upstreams: list[int], listen: int) -> str:
    """The doc's server config with real ports: what a reader would copy, bound to loopback."""
    block = re.search(r"```nginx\n(.*?)```", DEPLOY_DOC.read_text(), re.S).group(1)
    servers = "".join(f"    server 127.0.0.1:{port};\n" for port in upstreams)
    block, count = re.subn(r"(    server 127\.0\.0\.1:\d+;\n)+", servers, block)
    assert count == 1, "the doc's upstream block changed shape"
    assert "listen 80;" in block
    return block.replace("listen 80;", f"listen 127.0.0.1:{listen};")


def nginx_conf(folder: Path, site: str) -> Path:
    temp = " ".join(
        f"{kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = folder / "nginx.conf"
    conf.write_text(
        f"daemon off;\nworker_processes 1;\npid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'} warn;\n"
        f"events {{ worker_connections 64; }}\n"
        f"http {{\n access_log {folder / 'access.log'};\n {temp}\n{site}\n}}\n"
    )
    return conf


def test_the_documented_config_parses(tmp_path):
    conf = nginx_conf(tmp_path, documented_site([free_port(), free_port()], free_port()))
    result = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


@contextlib.contextmanager
def running_nginx(conf: Path, port: int):
    proc = subprocess.Popen([NGINX, "-p", str(conf.parent), "-c", str(conf)], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while True:  # until nginx accepts connections
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "nginx did not start listening"
            time.sleep(0.1)
        yield
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stderr.close()


def test_a_session_and_a_data_request_go_through_the_documented_proxy(project, tmp_path):
    listen = free_port()
    origin = ["--allow-websocket-origin", f"127.0.0.1:{listen}"]
    spec = [project["sales"]]
    with (
        serve(spec, *origin, log_dir=tmp_path) as first,
        serve(spec, *origin, log_dir=tmp_path) as second,
    ):
        upstreams = [int(first.url.rsplit(":", 1)[1]), int(second.url.rsplit(":", 1)[1])]
        conf = nginx_conf(tmp_path, documented_site(upstreams, listen))
        with running_nginx(conf, listen):
            base = f"http://127.0.0.1:{listen}"
            with urllib.request.urlopen(f"{base}/data/sales/by_product?region=East", timeout=30) as resp:
                assert resp.status == 200 and len(json.loads(resp.read())) == 3
            with pytest.raises(urllib.error.HTTPError) as probe:
                urllib.request.urlopen(f"{base}/metrics", timeout=10)
            assert probe.value.code == 404  # probes and metrics stay off the public side

            async def browse() -> float:
                session = Session(base, "sales")
                try:
                    await session.open(timeout=60)
                    return await session.choose(["West"], timeout=30)
                finally:
                    session.close()
                    await asyncio.sleep(0.3)

            assert asyncio.run(browse()) > 0
        access = (tmp_path / "access.log").read_text()
    assert re.search(r'"GET /sales/ws\b[^"]*" 101 ', access), (
        access
    )  # the WebSocket upgrade went through nginx
