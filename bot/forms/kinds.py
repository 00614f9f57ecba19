"""Reading one typed answer of each field kind. Raises `InputError` (Thai message + example)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from bot.commands import normalize
from bot.forms.spec import Choice, Field, Kind
from messages import forms as text
from messages.errors import InputError
from messages.thai_dates import parse_date
from messages.thai_numbers import normalize_digits, parse_money, parse_number, parse_percent

MAX_SHORT_TEXT = 300
MAX_LONG_TEXT = 3000


def parse_answer(field: Field, raw: str, *, today: date, unit: str = "") -> Any:
    """The stored (JSON-ready) value of a typed answer to `field`."""
    typed = raw.strip()
    if not typed:
        raise InputError(text.empty_answer(), text.example_for(field.kind))
    if field.kind is Kind.NUMBER:
        value = parse_number(typed, units=(unit,) if unit else ())
        return str(value)
    if field.kind is Kind.PERCENT:
        return str(parse_percent(typed))
    if field.kind is Kind.MONEY:
        return parse_money(typed)
    if field.kind is Kind.DATE:
        return parse_date(typed, today=today).isoformat()
    if field.kind is Kind.TEXT:
        if len(typed) > MAX_SHORT_TEXT:
            raise InputError(text.too_long(MAX_SHORT_TEXT), "")
        return typed
    if field.kind is Kind.LONG_TEXT:
        if len(typed) > MAX_LONG_TEXT:
            raise InputError(text.too_long(MAX_LONG_TEXT), "")
        return typed
    raise InputError(text.photo_expected(), "")


def match_choice(choices: Sequence[Choice], raw: str) -> list[Choice]:
    """Choices a typed answer may mean: its number in the list, an exact label or keyword, else a search."""
    typed = normalize(normalize_digits(raw))
    if not typed:
        return []
    if typed.isdigit() and 1 <= int(typed) <= len(choices):
        return [choices[int(typed) - 1]]
    exact = [
        c for c in choices if typed in {normalize(c.label), normalize(c.value), *(normalize(k) for k in c.keywords)}
    ]
    if exact:
        return exact
    return [
        c
        for c in choices
        if typed in normalize(c.label) or any(typed in normalize(k) for k in c.keywords)
    ]
