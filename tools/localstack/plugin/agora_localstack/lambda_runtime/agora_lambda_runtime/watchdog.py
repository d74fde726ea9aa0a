"""Ends the runtime when the LocalStack process that started it is gone."""

import ctypes
import os
import signal
import threading

PR_SET_PDEATHSIG = 1
POLL_INTERVAL_SECONDS = 1.0


def _request_death_signal() -> None:
    # The executor forks from a thread that lives as long as LocalStack, so the
    # kernel's "parent died" notification matches LocalStack's lifetime.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _poll_parent(parent_pid: int) -> None:
    stop = threading.Event()
    while not stop.wait(POLL_INTERVAL_SECONDS):
        if os.getppid() != parent_pid:
            os._exit(1)


def install(parent_pid: int | None) -> None:
    if not parent_pid:
        return
    _request_death_signal()
    # The parent may have exited before prctl took effect.
    if os.getppid() != parent_pid:
        os._exit(1)
    threading.Thread(target=_poll_parent, args=(parent_pid,), name="parent-watchdog", daemon=True).start()
