"""The console's HTTP server: the page, its assets, and the JSON it fetches; 127.0.0.1 only.

    GET /                                        the page (tools/console/static/index.html)
    GET /static/<file>, /vendor/<file>           its script and style; uPlot from node_modules
    GET /api/info                                the endpoint, stage and services it reads
    GET /api/dashboards[/<name>[/widgets/<i>]]   dashboards, one's layout, one widget's data
    GET /api/alarms | /api/queues                alarms with their state | dead-letter queues
    GET /api/traces[/<id>] | /api/service-map    trace search | one trace's waterfall | the map
    GET /api/logs?q=<text>                       log lines of every Agora function containing text

Query parameters: ``window`` (seconds, default 3600), ``period`` (``auto``, ``widget`` or
seconds), ``service``, ``status``, ``q``, ``limit``.  Only requests whose ``Host`` is this
server's own loopback address are answered, so that no other site can read it through the browser
(DNS rebinding).
"""

from __future__ import annotations

import json
import re
import sys
import traceback
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tools.console import metrics
from tools.console.sources import NotFound, Sources

ROOT = Path(__file__).resolve().parents[2]
STATIC_DIR = Path(__file__).resolve().parent / "static"
UPLOT_DIR = ROOT / "node_modules" / "uplot" / "dist"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
# Everything the page may load, by URL path.
ASSETS = {
    "/": STATIC_DIR / "index.html",
    "/static/console.js": STATIC_DIR / "console.js",
    "/static/console.css": STATIC_DIR / "console.css",
    "/vendor/uPlot.iife.min.js": UPLOT_DIR / "uPlot.iife.min.js",
    "/vendor/uPlot.min.css": UPLOT_DIR / "uPlot.min.css",
}
DEFAULT_WINDOW_S = 3600
MIN_WINDOW_S = 300
MAX_WINDOW_S = 14 * 86400


class Query:
    """The request's query parameters, read with defaults and bounds."""

    def __init__(self, raw: str) -> None:
        self.params = {k: v[-1] for k, v in parse_qs(raw).items()}

    def text(self, name: str, default: str = "") -> str:
        return self.params.get(name, default).strip()

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        try:
            value = int(self.params.get(name, default))
        except ValueError:
            value = default
        return max(low, min(high, value))

    @property
    def window(self) -> int:
        return self.integer("window", DEFAULT_WINDOW_S, MIN_WINDOW_S, MAX_WINDOW_S)

    @property
    def period(self) -> int | None:
        """``auto``: fitted to the window; ``widget``: as each widget declares; else seconds."""
        chosen = self.text("period", "auto")
        if chosen == "widget":
            return None
        if chosen.isdigit() and int(chosen) >= 60:
            return int(chosen) // 60 * 60
        return metrics.auto_period(self.window)


Route = Callable[[Sources, Query, re.Match[str]], Any]


def routes() -> list[tuple[re.Pattern[str], Route]]:
    def widget(s: Sources, q: Query, m: re.Match[str]) -> Any:
        return s.widget_data(m["name"], int(m["index"]), q.window, q.period)

    def trace(s: Sources, q: Query, m: re.Match[str]) -> Any:
        found = s.trace(m["id"])
        if found is None:
            raise NotFound(f"no trace {m['id']}")
        return found

    table: list[tuple[str, Route]] = [
        (r"/api/info", lambda s, q, m: info(s)),
        (r"/api/dashboards", lambda s, q, m: {"dashboards": s.dashboards()}),
        (r"/api/dashboards/(?P<name>[^/]+)", lambda s, q, m: s.dashboard(m["name"])),
        (r"/api/dashboards/(?P<name>[^/]+)/widgets/(?P<index>\d+)", widget),
        (r"/api/alarms", lambda s, q, m: {"alarms": s.alarms()}),
        (r"/api/queues", lambda s, q, m: {"queues": s.queues()}),
        (
            r"/api/traces",
            lambda s, q, m: s.search_traces(
                q.window, q.text("service"), q.text("status"), q.text("q"), q.integer("limit", 100, 1, 1000)
            ),
        ),
        (r"/api/traces/(?P<id>[0-9A-Za-z-]+)", trace),
        (r"/api/service-map", lambda s, q, m: s.service_map(q.window)),
        (r"/api/logs", lambda s, q, m: s.logs(q.text("q"), q.window, q.integer("limit", 500, 1, 5000))),
    ]
    return [(re.compile(pattern + r"/?"), route) for pattern, route in table]


def info(sources: Sources) -> dict[str, Any]:
    from tools.dev.stack import endpoint

    return {
        "endpoint": endpoint(),
        "stage": sources.stage,
        "state": str(sources.state),
        "services": list(sources.catalog.names),
    }


class Handler(BaseHTTPRequestHandler):
    server: ConsoleServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if not self._host_allowed():
            self._send(HTTPStatus.FORBIDDEN, b"forbidden host\n", "text/plain; charset=utf-8")
            return
        url = urlsplit(self.path)
        path = unquote(url.path)
        if path.startswith("/api/"):
            self._api(path, Query(url.query))
        else:
            self._asset(path)

    def do_HEAD(self) -> None:
        self.do_GET()

    def _host_allowed(self) -> bool:
        port = self.server.server_address[1]
        return self.headers.get("Host", "") in (f"127.0.0.1:{port}", f"localhost:{port}")

    def _asset(self, path: str) -> None:
        file = ASSETS.get(path)
        if file is None:
            self._json(HTTPStatus.NOT_FOUND, {"error": f"no such page: {path}"})
        elif not file.exists():
            self._json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"{file} is missing (run npm ci)"})
        else:
            self._send(HTTPStatus.OK, file.read_bytes(), TYPES.get(file.suffix, "application/octet-stream"))

    def _api(self, path: str, query: Query) -> None:
        for pattern, route in self.server.routes:
            if match := pattern.fullmatch(path):
                self._answer(route, query, match)
                return
        self._json(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint: {path}"})

    def _answer(self, route: Route, query: Query, match: re.Match[str]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._json(HTTPStatus.OK, route(self.server.sources, query, match))
        except NotFound as exc:
            self._json(HTTPStatus.NOT_FOUND, {"error": str(exc)})
        except ClientError as exc:
            status = (
                HTTPStatus.NOT_FOUND
                if "NotFound" in exc.response["Error"]["Code"]
                else HTTPStatus.BAD_GATEWAY
            )
            self._json(status, {"error": str(exc)})
        except BotoCoreError as exc:
            self._json(HTTPStatus.BAD_GATEWAY, {"error": f"LocalStack did not answer: {exc}"})
        except Exception as exc:  # a bug: the page shows it, the terminal has the traceback
            traceback.print_exc()
            self._json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"{type(exc).__name__}: {exc}"})

    def _json(self, status: HTTPStatus, body: Any) -> None:
        self._send(status, json.dumps(body, default=str).encode(), "application/json")

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            sys.stderr.write(f"console: {format % args}\n")


class ConsoleServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, sources: Sources, *, verbose: bool = False) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.sources = sources
        self.routes = routes()
        self.verbose = verbose
