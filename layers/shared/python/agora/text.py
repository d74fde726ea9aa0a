"""Text PostgreSQL cannot store: NUL characters and unpaired surrogates, refused at the edge.

PostgreSQL's ``text`` and ``jsonb`` reject ``\\u0000``, and a lone surrogate is not
encodable as UTF-8 at all, so either would surface deep inside a use case as a
500.  Every HTTP operation (``agora.http``) and internal function
(``agora.internal``) checks its whole input with ``first_unstorable`` and answers
``unstorable_problem`` (422 ``VALIDATION_FAILED``) before any handler code runs.
This module imports no web framework: internal functions use it too.
"""

from __future__ import annotations

import re
from typing import Any

from agora.errors import problem

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
MESSAGE = "Text may not contain NUL characters or unpaired surrogates"


def storable(text: str) -> bool:
    # A valid surrogate pair is one astral character in Python, so any code point left in the range is lone.
    return _UNSTORABLE.search(text) is None


def first_unstorable(value: Any, path: tuple[str | int, ...] = ()) -> tuple[str | int, ...] | None:
    """The path of the first string (a key counts too) that cannot be stored, or ``None``."""
    if isinstance(value, str):
        return None if storable(value) else path
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and not storable(key):
                return (*path, key)
            found = first_unstorable(item, (*path, key))
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = first_unstorable(item, (*path, index))
            if found is not None:
                return found
    return None


def field_name(path: tuple[str | int, ...]) -> str:
    """``items.0.name``, as validation errors name fields; an unreadable key is shown escaped."""
    return ".".join(str(p) if not isinstance(p, str) or storable(p) else repr(p)[1:-1] for p in path)


def unstorable_problem(field: str) -> dict[str, Any]:
    return problem(
        422,
        "VALIDATION_FAILED",
        "Validation failed",
        "the request is not valid",
        errors=[{"field": field, "message": MESSAGE}],
    )
