"""Change detection for hot-reloaded code (``S3Bucket="hot-reload"``).

The signature of a directory tree is the set of (relative path, mtime_ns, size)
of its regular files: a saved edit, a new file and a deleted file all change
it. Scans are cached per directory for SCAN_INTERVAL_SECONDS and shared by
every executor of that directory, so a burst of invokes costs one walk.

No LocalStack imports: the unit tests run this module in the project's venv.
"""

import os
import stat
import threading
import time

# Bounds how often a tree is walked; an edit is noticed at most this much later.
SCAN_INTERVAL_SECONDS = 0.2

type Signature = frozenset[tuple[str, int, int]]


def tree_signature(root: str) -> Signature:
    """Walks ``root`` following symlinks, skipping ``__pycache__`` and dot-directories."""
    entries: set[tuple[str, int, int]] = set()
    # (device, inode) of the directories walked so far: a symlink cycle, or a
    # second link to the same directory, is walked only once.
    walked: set[tuple[int, int]] = set()

    def first_visit(directory: str) -> bool:
        try:
            status = os.stat(directory)
        except OSError:
            return False
        key = (status.st_dev, status.st_ino)
        if key in walked:
            return False
        walked.add(key)
        return True

    if not first_visit(root):
        return frozenset()
    for directory, subdirs, files in os.walk(root, followlinks=True):
        # Sorted, so the same tree is always walked in the same order.
        subdirs[:] = sorted(
            name
            for name in subdirs
            if name != "__pycache__"
            and not name.startswith(".")
            and first_visit(os.path.join(directory, name))
        )
        for name in files:
            path = os.path.join(directory, name)
            try:
                status = os.stat(path)
            except OSError:  # removed meanwhile, or a dangling symlink
                continue
            if stat.S_ISREG(status.st_mode):
                entries.add((os.path.relpath(path, root), status.st_mtime_ns, status.st_size))
    return frozenset(entries)


class TreeWatch:
    """The cached signature of one directory tree."""

    def __init__(self, root: str) -> None:
        self.root = root
        # Held during a scan: concurrent callers wait for it instead of walking too.
        self._lock = threading.Lock()
        self._signature: Signature = frozenset()
        self._scanned_at: float | None = None

    def signature(self) -> Signature:
        """The tree's signature, rescanned if the cached one is SCAN_INTERVAL_SECONDS old."""
        with self._lock:
            now = time.monotonic()
            if self._scanned_at is None or now - self._scanned_at >= SCAN_INTERVAL_SECONDS:
                self._signature = tree_signature(self.root)
                self._scanned_at = now
            return self._signature


_watches: dict[str, TreeWatch] = {}
_watches_lock = threading.Lock()


def watch(root: str) -> TreeWatch:
    """The one TreeWatch of ``root``, shared by all its executors."""
    with _watches_lock:
        if root not in _watches:
            _watches[root] = TreeWatch(root)
        return _watches[root]
