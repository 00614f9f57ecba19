"""Numbers, money and percentages as Thai users type them, and as the product shows them.

Users type Thai digits (๐-๙), full-width digits, thousands separators and Thai multiplier words
(``1.5 ล้าน``, ``2แสน5หมื่น``). Parsing is exact: ``Decimal`` throughout, money as integer satang.
Every parse failure is an ``InputError`` with a polite Thai line and an example of a right answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from messages.errors import InputError

__all__ = [
    "MULTIPLIERS",
    "format_baht",
    "format_number",
    "format_percent",
    "normalize_digits",
    "parse_money",
    "parse_number",
    "parse_percent",
    "to_thai_digits",
]

_THAI_DIGITS = "๐๑๒๓๔๕๖๗๘๙"
_FULLWIDTH_DIGITS = "０１２３４５６７８９"

_NORMALIZE = str.maketrans(
    {
        **{thai: str(i) for i, thai in enumerate(_THAI_DIGITS)},
        **{wide: str(i) for i, wide in enumerate(_FULLWIDTH_DIGITS)},
        "，": ",",  # full-width comma
        "．": ".",  # full-width full stop
        "％": "%",  # full-width percent sign
        "＋": "+",  # full-width plus
        "－": "-",  # full-width hyphen-minus
        "−": "-",  # U+2212 minus sign
        "\u00a0": " ",  # no-break space
        "\u3000": " ",  # ideographic space
        "\u200b": "",  # zero-width space, common in Thai text typed on phones
    }
)
_TO_THAI = str.maketrans({str(i): thai for i, thai in enumerate(_THAI_DIGITS)})

MULTIPLIERS: dict[str, int] = {
    "ล้าน": 1_000_000,
    "แสน": 100_000,
    "หมื่น": 10_000,
    "พัน": 1_000,
    "ร้อย": 100,
}
_MILLION = "ล้าน"

_TOKEN = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<sign>[+-])"
    r"|(?P<number>\d[\d,]*(?:\.\d+)?|\.\d+)"
    r"|(?P<word>" + "|".join(MULTIPLIERS) + r")"
    r"|(?P<other>.)",
    re.DOTALL,
)
_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")

_MONEY_UNITS = ("บาทถ้วน", "บาท", "บ.", "บ", "฿")
_PERCENT_PREFIXES = ("ร้อยละ",)
_PERCENT_SUFFIXES = ("เปอร์เซ็นต์", "เปอร์เซนต์", "%")

_EXAMPLE_NUMBER = "เช่น 1,500 หรือ 1.5 ล้าน"
_EXAMPLE_MONEY = "เช่น 120,000 บาท หรือ 1.2 ล้านบาท"
_EXAMPLE_PERCENT = "เช่น 75 หรือ 75.5%"


def normalize_digits(text: str) -> str:
    """Turn Thai and full-width digits (and full-width ``，．％＋－``) into their ASCII forms."""
    return text.translate(_NORMALIZE)


def to_thai_digits(text: str) -> str:
    """Turn ASCII digits into Thai digits (the reverse of ``normalize_digits`` for digits)."""
    return text.translate(_TO_THAI)


def _decimal_of(token: str, example: str) -> Decimal:
    plain = token
    if "," in token:
        if not _GROUPED.fullmatch(token):
            raise InputError("ใส่เครื่องหมายจุลภาค (,) ไม่ถูกตำแหน่งค่ะ", "เช่น 120,000 หรือ 1,250.50")
        plain = token.replace(",", "")
    try:
        return Decimal(plain)
    except InvalidOperation as exc:  # pragma: no cover - the token pattern only lets valid numbers through
        raise InputError("อ่านตัวเลขนี้ไม่ออกค่ะ", example) from exc


def _strip_suffixes(text: str, suffixes: Iterable[str]) -> str:
    for suffix in sorted(suffixes, key=len, reverse=True):
        if suffix and text.endswith(suffix):
            return text[: -len(suffix)].rstrip()
    return text


def _parse_decimal(text: str, *, allow_words: bool, example: str) -> Decimal:
    """Parse an already-normalised, stripped number with optional sign and multiplier words."""
    if not text:
        raise InputError("ยังไม่ได้พิมพ์ตัวเลขค่ะ", example)
    tokens = [(m.lastgroup, m.group()) for m in _TOKEN.finditer(text) if m.lastgroup != "space"]
    negative = False
    if tokens and tokens[0][0] == "sign":
        negative = tokens[0][1] == "-"
        tokens = tokens[1:]
    if not tokens:
        raise InputError("ยังไม่ได้พิมพ์ตัวเลขค่ะ", example)

    total = Decimal(0)
    previous_scale: int | None = None  # multiplier of the previous term; None before the first term
    i = 0
    while i < len(tokens):
        kind, value = tokens[i]
        if kind != "number":
            raise InputError("อ่านตัวเลขนี้ไม่ออกค่ะ", example)
        number = _decimal_of(value, example)
        i += 1
        scale = 1
        if allow_words and i < len(tokens) and tokens[i][0] == "word":
            scale = MULTIPLIERS[tokens[i][1]]
            i += 1
            # "พันล้าน", "แสนล้าน", "ล้านล้าน": a multiplier of millions.
            if i < len(tokens) and tokens[i] == ("word", _MILLION):
                scale *= MULTIPLIERS[_MILLION]
                i += 1
        term = number * scale
        if previous_scale == 1:  # two plain numbers in a row, e.g. "12 34" or "1.2.3"
            raise InputError("อ่านตัวเลขนี้ไม่ออกค่ะ", example)
        if previous_scale is not None and term >= previous_scale:
            raise InputError("ลำดับหน่วยของตัวเลขไม่ถูกต้องค่ะ", "เช่น 1 ล้าน 2 แสน หรือ 2แสน5หมื่น")
        total += term
        previous_scale = scale
    return -total if negative else total


def parse_number(text: str, units: Iterable[str] = ()) -> Decimal:
    """Read a number such as ``1,234.5``, ``-12``, ``1.5 ล้าน`` or ``1 ล้าน 2 แสน``.

    A trailing unit word from ``units`` (e.g. ``("คน", "แห่ง")``) is ignored if present.
    Raises ``InputError`` when the text is not a number.
    """
    cleaned = _strip_suffixes(normalize_digits(text).strip(), units)
    return _parse_decimal(cleaned, allow_words=True, example=_EXAMPLE_NUMBER)


def parse_money(text: str) -> int:
    """Read an amount of baht and return it in satang (1 baht = 100 satang).

    Accepts ``120000``, ``120,000``, ``๑๒๐,๐๐๐ บาท``, ``120,000.50 บาท``, ``1.2 ล้านบาท``,
    ``฿120,000`` and ``120000 บ.``. Negative amounts and fractions of a satang are refused.
    """
    cleaned = normalize_digits(text).strip()
    if cleaned.startswith("฿"):
        cleaned = cleaned[1:].lstrip()
    cleaned = _strip_suffixes(cleaned, _MONEY_UNITS)
    amount = _parse_decimal(cleaned, allow_words=True, example=_EXAMPLE_MONEY)
    if amount < 0:
        raise InputError("จำนวนเงินต้องไม่ติดลบค่ะ", _EXAMPLE_MONEY)
    satang = amount * 100
    if satang != satang.to_integral_value():
        raise InputError("จำนวนเงินใส่ทศนิยมได้ไม่เกิน 2 ตำแหน่งค่ะ", "เช่น 120,000.50 บาท")
    return int(satang)


def parse_percent(text: str) -> Decimal:
    """Read a percentage from 0 to 100: ``75``, ``75%``, ``75.5``, ``๗๕``, ``ร้อยละ 75``."""
    cleaned = normalize_digits(text).strip()
    for prefix in _PERCENT_PREFIXES:
        if cleaned.startswith(prefix):
            cleaned = cleaned[len(prefix) :].lstrip()
    cleaned = _strip_suffixes(cleaned, _PERCENT_SUFFIXES)
    value = _parse_decimal(cleaned, allow_words=False, example=_EXAMPLE_PERCENT)
    if not Decimal(0) <= value <= Decimal(100):
        raise InputError("ร้อยละต้องอยู่ระหว่าง 0 ถึง 100 ค่ะ", _EXAMPLE_PERCENT)
    return value


def format_number(value: Decimal | int | float) -> str:
    """Show a number with thousands separators and no trailing zeros: ``Decimal("1234.50")`` → ``1,234.5``.

    A float is shown by its shortest repr (``0.1`` → ``0.1``), not its exact binary value.
    """
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        raise ValueError(f"cannot format {number!r}")
    text = f"{number:,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def format_baht(satang: int) -> str:
    """Show an amount in satang as baht: ``12000000`` → ``120,000 บาท``, ``12000050`` → ``120,000.50 บาท``."""
    baht, rest = divmod(abs(satang), 100)
    text = f"{baht:,}" + (f".{rest:02d}" if rest else "")
    return f"{'-' if satang < 0 else ''}{text} บาท"


def format_percent(value: Decimal | int | float) -> str:
    """Show a percentage: ``Decimal(75)`` → ``75%``, ``Decimal("75.50")`` → ``75.5%``."""
    return f"{format_number(value)}%"


def format_percent_words(value: Decimal | int | float, places: int = 1) -> str:
    """A percentage in Thai order, rounded: ``Decimal("62.5")`` → ``ร้อยละ 62.5``; ``29.1666…`` → ``ร้อยละ 29.2``."""
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    rounded = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"ร้อยละ {format_number(rounded)}"


PERCENT_UNITS = ("%", "ร้อยละ", "เปอร์เซ็นต์", "เปอร์เซนต์", "percent")


def is_percent_unit(unit: str) -> bool:
    return unit.strip().lower() in PERCENT_UNITS


def format_measure(value: Decimal | None, unit: str) -> str:
    """A value in its unit, in Thai order, at most two decimals: `ร้อยละ 62.5`, `80 คน`; `-` for none."""
    if value is None:
        return "-"
    if value != value.to_integral_value():
        value = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if is_percent_unit(unit):
        return format_percent_words(value, places=2)
    return f"{format_number(value)} {unit}".strip()
