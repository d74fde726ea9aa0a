"""Puts metrics into LocalStack's CloudWatch from a background thread.

Invocations and API requests hand over their raw material (log text, request facts) and return at
once; the worker turns it into metric data and sends it with ``PutMetricData`` through LocalStack's
internal client, so the metrics go through CloudWatch's own API (validation, storage, whatever
provider serves it) exactly as a client's would.  Data is grouped per account, region and namespace,
at most ``MAX_DATA_PER_CALL`` entries a call.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

LOG = logging.getLogger(__name__)

MAX_DATA_PER_CALL = 500
# Waits this long for more work before sending what it has; bounds a metric's delay.
LINGER_S = 0.2

Producer = Callable[[], Iterable[tuple[str, dict[str, Any]]]]
PutMetricData = Callable[[str, str, str, list[dict[str, Any]]], None]


@dataclass(frozen=True)
class _Work:
    account_id: str
    region: str
    produce: Producer  # (namespace, metric data entry) pairs, computed on the worker thread


def put_with_localstack(account_id: str, region: str, namespace: str, data: list[dict[str, Any]]) -> None:
    from localstack.aws.connect import connect_to

    client = connect_to(aws_access_key_id=account_id, region_name=region).cloudwatch
    client.put_metric_data(Namespace=namespace, MetricData=data)


class MetricSink:
    def __init__(self, put: PutMetricData = put_with_localstack) -> None:
        self._put = put
        self._queue: queue.Queue[_Work | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, account_id: str, region: str, produce: Producer) -> None:
        """Queue work; ``produce`` runs later, on the worker thread, and may raise (it is logged)."""
        self._ensure_started()
        self._queue.put(_Work(account_id, region, produce))

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until everything queued so far is sent (for tests); False on timeout."""
        done = threading.Event()

        def mark() -> Iterable[tuple[str, dict[str, Any]]]:
            done.set()
            return ()

        self.submit("", "", mark)
        return done.wait(timeout_s)

    def stop(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=2)

    def _ensure_started(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="agora-metrics-sink", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while batch[-1] is not None:
                try:
                    batch.append(self._queue.get(timeout=LINGER_S))
                except queue.Empty:
                    break
            self._send(item for item in batch if item is not None)
            if batch[-1] is None:
                return

    def _send(self, work: Iterable[_Work]) -> None:
        grouped: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
        for item in work:
            try:
                for namespace, entry in item.produce():
                    grouped[(item.account_id, item.region, namespace)].append(entry)
            except Exception:
                LOG.exception("Could not turn invocation output into metrics")
        for (account_id, region, namespace), data in grouped.items():
            for start in range(0, len(data), MAX_DATA_PER_CALL):
                try:
                    self._put(account_id, region, namespace, data[start : start + MAX_DATA_PER_CALL])
                except Exception as e:
                    LOG.warning(
                        "Could not put %d metric data in %s (%s): %s", len(data), namespace, region, e
                    )


SINK = MetricSink()
