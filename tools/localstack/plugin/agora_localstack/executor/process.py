"""Child processes of execution environments."""

import contextlib
import os
import signal
import socket
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from agora_localstack.lambda_runtime.agora_lambda_runtime import protocol

# All children are forked from this one long-lived thread. The runtime asks the
# kernel for SIGKILL when its parent *thread* exits (PR_SET_PDEATHSIG), and
# LocalStack's request and pool threads come and go.
_SPAWN_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agora-lambda-spawn")


class RuntimeProcess:
    """One runtime child, in its own session so its subprocesses die with it."""

    def __init__(self, popen: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
        self._popen = popen
        self.port = port
        self.log_path = log_path

    @classmethod
    def spawn(cls, command: list[str], env: dict[str, str], cwd: str, log_path: Path) -> "RuntimeProcess":
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.bind(("127.0.0.1", 0))
            listener.listen(16)
            port = listener.getsockname()[1]
            child_env = {**env, protocol.ENV_LISTEN_FD: str(listener.fileno())}
            log_path.parent.mkdir(parents=True, exist_ok=True)
            with open(log_path, "ab") as log_file:
                popen = _SPAWN_THREAD.submit(
                    subprocess.Popen,
                    command,
                    env=child_env,
                    cwd=cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    pass_fds=(listener.fileno(),),
                    start_new_session=True,
                ).result()
        finally:
            listener.close()
        return cls(popen, port, log_path)

    @property
    def pid(self) -> int:
        return self._popen.pid

    def exit_code(self) -> int | None:
        # WNOWAIT leaves an exited child as a zombie until kill() reaps it, so
        # its pid, which is also its process group id, cannot be handed to an
        # unrelated process in the meantime.
        if self._popen.returncode is not None:
            return self._popen.returncode
        try:
            status = os.waitid(os.P_PID, self._popen.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return self._popen.poll()
        if status is None:
            return None
        return status.si_status if status.si_code == os.CLD_EXITED else -status.si_status

    def is_alive(self) -> bool:
        return self.exit_code() is None

    def kill(self) -> int:
        """Kills and reaps the child; returns its exit status (negative for a signal)."""
        if self._popen.returncode is None:
            # Also reaches subprocesses the function left behind in its session.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._popen.pid, signal.SIGKILL)
        return self._popen.wait()

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def read_log(self, offset: int = 0) -> str:
        try:
            with open(self.log_path, "rb") as log_file:
                log_file.seek(offset)
                return log_file.read().decode("utf-8", errors="replace")
        except OSError:
            return ""
