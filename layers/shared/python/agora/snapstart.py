"""SnapStart: what the copies restored from one snapshot must not share, and how each copy re-makes it.

On AWS a SnapStart function is initialised once, when its version is published; Lambda snapshots that
execution environment and resumes every new one from the snapshot.  Whatever init left in memory is
then shared by all the copies: the ``random`` module's state (every copy would draw the same "random"
numbers: trace ids, retry jitter) and any open connection (a PostgreSQL session or a Redis socket that
several copies would each take for their own).

Every function imports ``agora.settings`` during init, which calls ``install``: each restored copy
re-seeds ``random``.  A module that opens a connection registers, when it creates one, a hook that
drops it (``after_restore``) and, where the server should be told, closes it first
(``before_snapshot``); the next use opens a new one.

Lambda marks a SnapStart init with ``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``.  Anywhere else
registering stores a function in a dict and ``snapshot_restore_py`` (part of the managed runtime) is
never imported.
"""

from __future__ import annotations

import os
from collections.abc import Callable

INITIALIZATION_TYPE = "AWS_LAMBDA_INITIALIZATION_TYPE"
SNAP_START = "snap-start"

Hook = Callable[[], None]

# Insertion-ordered sets: registering a hook again changes nothing.
_before_snapshot: dict[Hook, None] = {}
_after_restore: dict[Hook, None] = {}
_installed = False


def under_snap_start() -> bool:
    return os.environ.get(INITIALIZATION_TYPE) == SNAP_START


def install() -> None:
    """Have the runtime run this module's hooks, once per container, when it runs under SnapStart."""
    global _installed
    if _installed or not under_snap_start():
        return
    from snapshot_restore_py import register_after_restore, register_before_snapshot

    register_before_snapshot(run_before_snapshot)
    register_after_restore(run_after_restore)
    _installed = True


def before_snapshot(hook: Hook) -> None:
    """Run ``hook`` just before Lambda takes the snapshot: close what a server should see closed."""
    _before_snapshot[hook] = None
    install()


def after_restore(hook: Hook) -> None:
    """Run ``hook`` in every copy restored from the snapshot, before it serves anything."""
    _after_restore[hook] = None
    install()


def run_before_snapshot() -> None:
    # Last registered first, as the runtime orders its own before-snapshot hooks.
    for hook in reversed(list(_before_snapshot)):
        hook()


def run_after_restore() -> None:
    reseed()
    for hook in list(_after_restore):
        hook()


def reseed() -> None:
    """A fresh seed from the operating system's entropy, which differs in each restored copy."""
    import random

    random.seed()
