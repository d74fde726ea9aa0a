"""Process environment of a runtime child.

The child does not inherit LocalStack's environment: a function sees what a
function on AWS sees (its configuration plus the Lambda-defined variables),
not LocalStack's settings.
"""

import os
from collections.abc import Mapping
from pathlib import Path

from agora_localstack.lambda_runtime.agora_lambda_runtime import protocol

RUNTIME_ROOT = Path(__file__).resolve().parent.parent / "lambda_runtime"

# Lets `ctl.py stop` find every process that belongs to one LocalStack instance.
INSTANCE_MARKER = "AGORA_LOCALSTACK_INSTANCE"

_SYSTEM_PATH = ["/usr/local/bin", "/usr/bin", "/bin"]


def _join(parts: list[str]) -> str:
    return os.pathsep.join(part for part in parts if part)


def runtime_environment(
    localstack_env: Mapping[str, object],
    *,
    runtime: str,
    interpreter: str,
    task_root: str,
    layer_roots: list[str],
    hot_reload_roots: list[str],
) -> dict[str, str]:
    base = {
        "PATH": _join([str(Path(interpreter).parent), *(f"{r}/bin" for r in layer_roots), *_SYSTEM_PATH]),
        "LANG": "C.UTF-8",
        "LD_LIBRARY_PATH": _join([task_root, f"{task_root}/lib", *(f"{r}/lib" for r in layer_roots)]),
        # Keep the host user's ~/.aws files out of the function's SDK configuration.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        # Cloud Map's DiscoverInstances would otherwise go to data-<endpoint host>,
        # which does not resolve for a LocalStack endpoint.
        "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
    }
    env = {**base, **{key: str(value) for key, value in localstack_env.items() if value is not None}}
    env["PYTHONPATH"] = _join([env.get("PYTHONPATH", ""), str(RUNTIME_ROOT)])
    env.update(
        {
            "LAMBDA_TASK_ROOT": task_root,
            "LAMBDA_RUNTIME_DIR": str(RUNTIME_ROOT),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}",
            protocol.ENV_PARENT_PID: str(os.getpid()),
            protocol.ENV_LAYER_ROOTS: _join(layer_roots),
            protocol.ENV_HOT_RELOAD_ROOTS: _join(hot_reload_roots),
        }
    )
    if marker := os.environ.get(INSTANCE_MARKER):
        env[INSTANCE_MARKER] = marker
    return env
