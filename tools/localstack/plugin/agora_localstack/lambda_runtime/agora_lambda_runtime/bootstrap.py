"""Entry point of one execution environment: init once, then serve invocations."""

import os
import sys
import time
from collections.abc import MutableMapping
from dataclasses import dataclass

from agora_lambda_runtime import errors, logcapture, protocol, sourceonly, watchdog
from agora_lambda_runtime.api import InvokeListener, RuntimeApiClient
from agora_lambda_runtime.handler import build_sys_path, load_handler
from agora_lambda_runtime.invocation import InvocationRunner

RUNTIME_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass(frozen=True)
class RuntimeSettings:
    endpoint: str
    runtime_id: str
    handler: str | None
    task_root: str
    layer_roots: list[str]
    hot_reload_roots: list[str]
    listen_fd: int
    parent_pid: int | None

    @classmethod
    def from_environ(cls, environ: MutableMapping[str, str]) -> "RuntimeSettings":
        layers = environ.get(protocol.ENV_LAYER_ROOTS, "")
        hot_reload = environ.get(protocol.ENV_HOT_RELOAD_ROOTS, "")
        parent = environ.get(protocol.ENV_PARENT_PID)
        settings = cls(
            endpoint=environ[protocol.ENV_RUNTIME_ENDPOINT],
            runtime_id=environ[protocol.ENV_RUNTIME_ID],
            handler=environ.get("_HANDLER"),
            task_root=environ.get("LAMBDA_TASK_ROOT") or os.getcwd(),
            layer_roots=[root for root in layers.split(os.pathsep) if root],
            hot_reload_roots=[root for root in hot_reload.split(os.pathsep) if root],
            listen_fd=int(environ[protocol.ENV_LISTEN_FD]),
            parent_pid=int(parent) if parent else None,
        )
        for name in protocol.PRIVATE_ENV:
            environ.pop(name, None)
        return settings


def main() -> None:
    settings = RuntimeSettings.from_environ(os.environ)
    watchdog.install(settings.parent_pid)
    collector = logcapture.LogCollector()
    logcapture.install(collector)
    sys.path[:] = build_sys_path(sys.path, settings.task_root, settings.layer_roots, RUNTIME_ROOT)
    sourceonly.install(settings.hot_reload_roots)
    client = RuntimeApiClient(settings.endpoint, settings.runtime_id)

    started = time.perf_counter()
    try:
        handler = load_handler(settings.handler)
    except errors.InitError as error:
        payload = errors.init_error(error)
        sys.stdout.write(errors.log_line(payload))
        logcapture.flush_streams()
        client.init_error(payload)
        os._exit(1)
    init_duration_ms = (time.perf_counter() - started) * 1000

    listener = InvokeListener(settings.listen_fd)
    listener.start()
    client.ready()
    runner = InvocationRunner(handler, client, collector, init_duration_ms)
    # Handlers run on the main thread: some libraries only install signal
    # handlers or event loops there.
    while True:
        runner.run(listener.invocations.get())
