"""HTTP plumbing: reports to LocalStack's executor endpoint, invokes from it."""

import http.client
import json
import queue
import socket
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import urlsplit

from agora_lambda_runtime.protocol import INVOKE_PATH


class RuntimeApiClient:
    """Talks to ``<gateway>/_localstack_lambda/<executor id>``."""

    def __init__(self, endpoint: str, runtime_id: str, timeout: float = 30.0) -> None:
        parts = urlsplit(endpoint)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._prefix = parts.path.rstrip("/")
        self._runtime_id = runtime_id
        self._timeout = timeout

    def ready(self) -> None:
        self._post(f"/status/{self._runtime_id}/ready", b"")

    def init_error(self, payload: dict) -> None:
        self._post(f"/status/{self._runtime_id}/error", _json(payload))

    def logs(self, request_id: str, text: str) -> None:
        self._post(f"/invocations/{request_id}/logs", _json({"logs": text}))

    def response(self, request_id: str, body: bytes) -> None:
        self._post(f"/invocations/{request_id}/response", body)

    def error(self, request_id: str, payload: dict) -> None:
        self._post(f"/invocations/{request_id}/error", _json(payload))

    def _post(self, path: str, body: bytes) -> None:
        # A fresh connection per call: proxies never apply and nothing goes stale
        # while the environment sits idle between invocations.
        connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        try:
            connection.request(
                "POST", self._prefix + path, body=body, headers={"Content-Type": "application/json"}
            )
            response = connection.getresponse()
            response.read()
            if response.status >= 300:
                raise RuntimeError(f"POST {path} answered {response.status}")
        finally:
            connection.close()


def _json(payload: dict) -> bytes:
    return json.dumps(payload).encode("utf-8")


class _InvokeHandler(BaseHTTPRequestHandler):
    server: "InvokeListener"

    def do_POST(self) -> None:
        if self.path != INVOKE_PATH:
            self.send_error(404)
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            invocation = json.loads(self.rfile.read(length))
        except ValueError:
            self.send_error(400)
            return
        self.server.invocations.put(invocation)
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args) -> None:
        # The default writes to sys.stderr, which is the function's captured log.
        pass


class InvokeListener(HTTPServer):
    """Accepts invokes on a socket the executor bound and passed down.

    The executor owns the port choice, so there is no window in which another
    process could take the port between choosing it and listening on it.
    """

    def __init__(self, listen_fd: int) -> None:
        super().__init__(("127.0.0.1", 0), _InvokeHandler, bind_and_activate=False)
        self.socket.close()
        self.socket = socket.socket(fileno=listen_fd)
        self.server_address = self.socket.getsockname()
        self.invocations: queue.Queue[dict] = queue.Queue()

    def start(self) -> None:
        threading.Thread(target=self.serve_forever, name="invoke-listener", daemon=True).start()

    def handle_error(self, request, client_address) -> None:
        traceback.print_exc(file=sys.__stderr__)
