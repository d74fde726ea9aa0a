"""Modules of hot-reload directories are compiled from source at every import.

A ``.pyc`` is trusted when its source has the recorded size and mtime in
whole seconds, so a file saved twice within one second with the same size
would run the first save's bytecode. Those directories therefore get no
bytecode cache, read or written (on AWS, /var/task is read-only as well);
all other modules (standard library, boto3, unpacked layers) keep theirs.
"""

import os
import sys
from importlib.machinery import (
    BYTECODE_SUFFIXES,
    EXTENSION_SUFFIXES,
    SOURCE_SUFFIXES,
    ExtensionFileLoader,
    FileFinder,
    SourceFileLoader,
    SourcelessFileLoader,
)
from types import CodeType


class SourceOnlyLoader(SourceFileLoader):
    """A SourceFileLoader that ignores ``__pycache__``."""

    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        return self.source_to_code(self.get_data(path), path)


def install(roots: list[str]) -> None:
    """Imports below ``roots`` (function code, layer directories) use SourceOnlyLoader."""
    if not roots:
        return
    # The default FileFinder's loaders, in its order, with the source loader replaced.
    loaders = [
        (ExtensionFileLoader, EXTENSION_SUFFIXES),
        (SourceOnlyLoader, SOURCE_SUFFIXES),
        (SourcelessFileLoader, BYTECODE_SUFFIXES),
    ]
    prefixes = tuple(os.path.join(root, "") for root in roots)

    def finder(path: str) -> FileFinder:
        if path not in roots and not path.startswith(prefixes):
            raise ImportError("not in a hot-reload directory")  # the next hook takes it
        return FileFinder(path, *loaders)

    sys.path_hooks.insert(0, finder)
    sys.path_importer_cache.clear()
