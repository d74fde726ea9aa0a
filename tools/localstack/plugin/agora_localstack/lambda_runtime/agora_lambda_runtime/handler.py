"""Locating and importing the function's handler."""

import importlib
import os
import sys
from collections.abc import Callable

from agora_lambda_runtime.errors import InitError


def build_sys_path(
    current: list[str], task_root: str, layer_roots: list[str], runtime_root: str | None
) -> list[str]:
    """Order the module search path like the AWS Python runtime does.

    AWS puts /var/task first, then /opt/python (with its lib/pythonX.Y/site-packages),
    then the interpreter's own paths, and its runtime directory last. Layers are
    extracted over each other into /opt in the configured order, so a module in a
    later layer replaces the same module from an earlier one; searching the layer
    directories last-to-first gives the same result without copying files.
    """
    version_dir = f"python{sys.version_info.major}.{sys.version_info.minor}"
    front = [task_root]
    for root in reversed(layer_roots):
        front.append(os.path.join(root, "python", "lib", version_dir, "site-packages"))
        front.append(os.path.join(root, "python"))
    skipped = set(front) | {"", ".", runtime_root}
    middle = [entry for entry in current if entry not in skipped]
    tail = [runtime_root] if runtime_root else []
    return front + middle + tail


def load_handler(handler: str | None) -> Callable:
    if not handler:
        raise InitError("Runtime.MalformedHandlerName", "No handler configured for the function")
    module_name, _, function_name = handler.rpartition(".")
    if not module_name:
        raise InitError(
            "Runtime.MalformedHandlerName",
            f"Bad handler '{handler}': not enough values to unpack (expected 2, got 1)",
        )
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise InitError(
            "Runtime.BuiltInModuleConflict",
            f"Cannot use built-in module {module_name} as a handler module",
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise InitError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}", exc
        ) from exc
    except SyntaxError as exc:
        raise InitError(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}", exc
        ) from exc
    except Exception as exc:
        raise InitError(type(exc).__name__, str(exc), exc) from exc
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise InitError(
            "Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'"
        ) from None
