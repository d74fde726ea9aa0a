"""Fixtures of the unit tests: ``spans`` collects what ``agora.tracing`` records, ``logged``
what the functions log (tests/unit/spans.py)."""

from tests.unit.spans import logged, spans

__all__ = ["logged", "spans"]
