"""Payment card numbers found in free-form data, masked so that Agora never keeps or shows one.

A card number is a Luhn-valid run of 13 to 19 digits, written whole or in groups separated by single
spaces or dashes (``4242 4242 4242 4242``, ``4242-4242-4242-4242``).  Inside a longer grouped run (a
reference number typed before the card), any span of whole groups that is a card is found as well;
a run without separators is a card only as a whole, so a long identifier is not cut up by chance.

``scrub`` walks any JSON value (dict keys and values, lists, strings and numbers) and replaces each
card by ``•••• <last four>``; a number that was a card becomes that string.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

MIN_DIGITS = 13
MAX_DIGITS = 19
MASK = "•••• "
# Maximal runs of digits joined by at most one space or dash between two digits.
_RUN = re.compile(r"(?<!\d)\d+(?:[ -]\d+)*(?!\d)")
_GROUP = re.compile(r"\d+")


def luhn_valid(digits: str) -> bool:
    if not digits.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def is_card_number(digits: str) -> bool:
    """Exactly a card number: 13 to 19 digits, Luhn-valid."""
    return MIN_DIGITS <= len(digits) <= MAX_DIGITS and luhn_valid(digits)


def mask(digits: str) -> str:
    return MASK + digits[-4:]


def _card_spans(run: str) -> list[tuple[int, int]]:
    """Spans (within ``run``) of whole groups that are card numbers, longest first from the left."""
    groups = [(m.start(), m.end()) for m in _GROUP.finditer(run)]
    found: list[tuple[int, int]] = []
    first = 0
    while first < len(groups):
        match = None
        for last in range(len(groups) - 1, first - 1, -1):
            start, end = groups[first][0], groups[last][1]
            if is_card_number(re.sub(r"[ -]", "", run[start:end])):
                match = (start, end, last)
                break
        if match is None:
            first += 1
            continue
        found.append((match[0], match[1]))
        first = match[2] + 1
    return found


def _mask_text(text: str) -> str:
    def replace(run: re.Match[str]) -> str:
        value = run.group(0)
        spans = _card_spans(value)
        for start, end in reversed(spans):
            value = value[:start] + mask(re.sub(r"[ -]", "", value[start:end])) + value[end:]
        return value

    return _RUN.sub(replace, text)


def looks_like_card(text: str) -> bool:
    """Whether ``text`` holds a card number anywhere (whole or grouped)."""
    return any(_card_spans(run.group(0)) for run in _RUN.finditer(text))


def scrub(value: Any) -> Any:
    """``value`` with every card number in it masked; a value without one comes back equal."""
    if isinstance(value, str):
        return _mask_text(value) if looks_like_card(value) else value
    # bool is an int: True is never a card.
    if isinstance(value, bool):
        return value
    if isinstance(value, int | Decimal):
        text = str(value)
        return mask(text.lstrip("-")) if is_card_number(text.lstrip("-")) else value
    if isinstance(value, dict):
        return {scrub(k) if isinstance(k, str) else k: scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value
