"""Capture of what the function prints, so it can be shipped as invocation logs.

``sys.stdout`` and ``sys.stderr`` are replaced once, before user code is
imported: loggers created at import time (Powertools, ``logging.basicConfig``)
keep a reference to the stream object, so swapping streams per invocation
would lose their output. Everything still reaches the original file
descriptors too, which the executor sends to the environment's log file.
Output written straight to fd 1/2 (C extensions, subprocesses) only ends up in
that file.
"""

import contextlib
import io
import os
import sys
import threading


class LogCollector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._chunks: list[bytes] = []

    def add(self, data: bytes) -> None:
        with self._lock:
            self._chunks.append(data)

    def write_text(self, text: str) -> None:
        """Adds runtime-generated lines (START/END/REPORT) in order with user output."""
        flush_streams()
        data = text.encode("utf-8")
        self.add(data)
        _write_fd(1, data)

    def take(self) -> str:
        flush_streams()
        with self._lock:
            data = b"".join(self._chunks)
            self._chunks.clear()
        return data.decode("utf-8", errors="replace")


def _write_fd(fd: int, data: bytes) -> None:
    view = memoryview(data)
    try:
        while view:
            written = os.write(fd, view)
            view = view[written:]
    except OSError:
        pass


class _CapturingRaw(io.RawIOBase):
    def __init__(self, fd: int, collector: LogCollector) -> None:
        self._fd = fd
        self._collector = collector

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        chunk = bytes(data)
        self._collector.add(chunk)
        _write_fd(self._fd, chunk)
        return len(chunk)

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return False


def install(collector: LogCollector) -> None:
    for name, fd in (("stdout", 1), ("stderr", 2)):
        raw = _CapturingRaw(fd, collector)
        stream = io.TextIOWrapper(
            io.BufferedWriter(raw),
            encoding="utf-8",
            errors="backslashreplace",
            line_buffering=True,
        )
        setattr(sys, name, stream)


def flush_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
