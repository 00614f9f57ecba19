"""Reading one typed answer of each field kind. Raises `InputError` (Thai message + example)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from bot.forms.spec import Choice, Field, Kind
from bot.intents import normalize
from bot.postback import parse_int
from messages import forms as text
from messages.errors import InputError
from messages.thai_dates import parse_date
from messages.thai_numbers import is_percent_unit, normalize_digits, parse_money, parse_number, parse_percent
from messages.vocabulary import LIST_SEPARATORS

MAX_SHORT_TEXT = 300
MAX_LONG_TEXT = 3000
# What the stored columns hold (numeric(20,4), numeric(5,2), bigint satang), with room to spare: a
# bigger or finer answer is a typo, and it must be refused here rather than fail when the report is saved.
MAX_NUMBER = Decimal(10) ** 15
NUMBER_DECIMALS = 4
PERCENT_DECIMALS = 2
MAX_MONEY_SATANG = Decimal(10) ** 15  # ten trillion baht


def _within(value: Decimal, *, limit: Decimal, decimals: int, kind: Kind) -> None:
    if abs(value) >= limit and not (kind is Kind.PERCENT and value == limit):
        raise InputError(text.number_too_big(), text.example_for(kind))
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > decimals:
        raise InputError(text.too_many_decimals(decimals), text.example_for(kind))


def parse_answer(field: Field, raw: str, *, today: date, unit: str = "") -> Any:
    """The stored (JSON-ready) value of a typed answer to `field`."""
    typed = raw.strip()
    if not typed:
        raise InputError(text.empty_answer(), text.example_for(field.kind))
    if field.kind is Kind.NUMBER and is_percent_unit(unit):
        value = parse_percent(typed)  # with a percent sign, or the Thai word for percent
        _within(value, limit=MAX_NUMBER, decimals=NUMBER_DECIMALS, kind=field.kind)
        return str(value)
    if field.kind is Kind.NUMBER:
        value = parse_number(typed, units=(unit,) if unit else ())
        _within(value, limit=MAX_NUMBER, decimals=NUMBER_DECIMALS, kind=field.kind)
        return str(value)
    if field.kind is Kind.PERCENT:
        percent = parse_percent(typed)
        _within(percent, limit=Decimal(100), decimals=PERCENT_DECIMALS, kind=field.kind)
        return str(percent)
    if field.kind is Kind.MONEY:
        satang = parse_money(typed)
        _within(Decimal(satang), limit=MAX_MONEY_SATANG, decimals=0, kind=field.kind)
        return satang
    if field.kind is Kind.DATE:
        return parse_date(typed, today=today).isoformat()
    if field.kind in (Kind.TEXT, Kind.LONG_TEXT):
        limit = field.max_length or (MAX_SHORT_TEXT if field.kind is Kind.TEXT else MAX_LONG_TEXT)
        if len(typed) > limit:
            raise InputError(text.too_long(limit), "")
        return typed
    raise InputError(text.photo_expected(), "")


def parse_multi(choices: Sequence[Choice], raw: str) -> list[str]:
    """A typed multi answer ("1, 3", "1 และ 3", "LINE เว็บไซต์"): the values of the choices it names,
    in the choices' order; each part a number in the list, a label, or a part naming only one choice."""
    typed = " ".join(normalize_digits(raw).split()).casefold()  # spaces kept: they part the choices
    if not typed:
        raise InputError(text.empty_answer(), text.example_for(Kind.MULTI))
    for separator in LIST_SEPARATORS:
        typed = typed.replace(separator, ",")
    parts = [p for p in typed.replace(" ", ",").split(",") if p]
    picked = [_one(choices, p) for p in parts]
    if len(parts) > 1 and any(c is None for c in picked):
        whole = _one(choices, typed)  # a choice whose label has spaces
        picked = [whole] if whole is not None else picked
    if not picked or any(c is None for c in picked):
        raise InputError(text.multi_not_understood(), text.example_for(Kind.MULTI))
    chosen = {c.value for c in picked if c is not None}
    return [c.value for c in choices if c.value in chosen]


def _one(choices: Sequence[Choice], typed: str) -> Choice | None:
    matches = match_choice(choices, typed)
    return matches[0] if len(matches) == 1 else None


def match_choice(choices: Sequence[Choice], raw: str) -> list[Choice]:
    """Choices a typed answer may mean: its number in the list, an exact label or keyword, else a search."""
    typed = normalize(normalize_digits(raw))
    if not typed:
        return []
    number = parse_int(typed, max_value=len(choices))  # ASCII digits only: "²".isdigit() is true
    if number is not None and number >= 1:
        return [choices[number - 1]]
    exact = [
        c
        for c in choices
        if typed in {normalize(c.label), normalize(c.value), *(normalize(k) for k in c.keywords)}
    ]
    if exact:
        return exact
    return [
        c for c in choices if typed in normalize(c.label) or any(typed in normalize(k) for k in c.keywords)
    ]
