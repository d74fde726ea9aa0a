"""Text fields that hold one of a closed set of values, the set taken from the domain's own enums.

    OrderStatus = Annotated[str, OneOf(s.value for s in Status)]

The type checker sees ``str``; pydantic validates and publishes the field exactly as it would a
``Literal`` of the values (a JSON schema ``enum`` of strings), so the published document names each.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler
    from pydantic_core import CoreSchema


class OneOf:
    """``Annotated[str, OneOf(values)]``: one of ``values``, in their order."""

    def __init__(self, values: Iterable[str]) -> None:
        self.values = tuple(values)
        if not self.values:
            raise ValueError("a closed set needs at least one value")

    def __repr__(self) -> str:
        return f"OneOf({self.values!r})"

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        from pydantic_core import core_schema

        return core_schema.literal_schema(list(self.values))
