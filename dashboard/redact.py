"""Scrubbing free text for the public edition of the annual report: the names of the office's people,
LINE ids, phone numbers and e-mail addresses that reporters typed into problems and suggestions.

Thai is written without spaces between words, so a name cannot be found by splitting on words: each
person's first and last names (without their titles, `messages.names.split_name`) go into one set,
and every position of a text is looked up for the longest name starting there (a few thousand set
lookups per text, whatever the number of people). A title written before a scrubbed name goes with
it, and a first and last name side by side become one placeholder. Parts shorter than
`MIN_NAME_PART` characters are not looked for on their own (they are ordinary syllables in Thai);
a whole name is. This errs on the side of scrubbing: a word that is also someone's name is replaced
too, which a public edition can afford.

Pure: the names come in, the placeholders come in (their Thai lives in `messages/dashboard.py`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from messages.names import TITLES, split_name

MIN_NAME_PART = 3
_D = "[0-9๐-๙]"
_CONTACTS = (
    re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),  # e-mail
    # A LINE id as typed: "ไลน์ somchai.99", "ไอดีไลน์: somchai", "LINE ID somchai", "line: somchai".
    re.compile(
        r"(?i)(?:ไอดี\s*ไลน์|ไลน์\s*ไอดี|ไลน์|(?<![a-z])(?:line\s*id|id\s*line)(?![a-z]))\s*[:：=]?\s*@?[a-z0-9._-]{3,}"
    ),
    re.compile(r"(?i)(?<![a-z])line\s*(?:[:：=]\s*@?|@)[a-z0-9._-]{3,}"),
    re.compile(r"(?<![0-9A-Za-z])[UCR][0-9a-f]{32}(?![0-9A-Za-z])"),  # LINE's user, group, room ids
    re.compile(r"(?<![\w.])@[A-Za-z0-9._-]{3,}"),  # a LINE official id or handle (@abc123)
    # Thai phone numbers: mobile 0X-XXXX-XXXX, landline 0X-XXX-XXXX, +66, with spaces, dashes, dots,
    # in Thai or Arabic digits.
    re.compile(
        rf"(?<![0-9๐-๙])(?:\+66|\+?๖๖|0|๐)[-\s.]?{_D}{{1,2}}[-\s.]?{_D}{{3}}[-\s.]?{_D}{{3,4}}(?![0-9๐-๙])"
    ),
)
_TITLE_BEFORE = "|".join(re.escape(t) for t in TITLES)


class Scrubber:
    """`Scrubber(names, name_mark, contact_mark).scrub(text)`: `text` with every name and contact
    detail of the people in `names` replaced."""

    def __init__(self, full_names: Iterable[str], name_mark: str, contact_mark: str) -> None:
        self.name_mark, self.contact_mark = name_mark, contact_mark
        parts: set[str] = set()
        for full in full_names:
            name = split_name(full)
            whole = " ".join(p for p in (name.first, name.last) if p)
            for part in (name.first, name.last):
                if len(part) >= MIN_NAME_PART:
                    parts.add(part.lower())
            if whole:
                parts.add(whole.lower())
                parts.add(whole.replace(" ", "").lower())
        self.parts = parts
        self.lengths = sorted({len(p) for p in parts}, reverse=True)
        mark = re.escape(name_mark)
        self._titled = re.compile(rf"(?:(?:{_TITLE_BEFORE})\s*)+{mark}", re.IGNORECASE)
        self._adjacent = re.compile(rf"{mark}(?:\s*{mark})+")

    def scrub(self, text: str) -> str:
        if not text:
            return text
        for pattern in _CONTACTS:
            text = pattern.sub(self.contact_mark, text)
        return self._names(text)

    def _names(self, text: str) -> str:
        if not self.parts:
            return text
        lowered = text.lower()
        if len(lowered) != len(text):  # a letter whose lower case is longer: compare as written
            lowered = text
        out: list[str] = []
        i, kept, n = 0, 0, len(text)
        found = False
        while i < n:
            for length in self.lengths:
                if length <= n - i and lowered[i : i + length] in self.parts:
                    out.append(text[kept:i])
                    out.append(self.name_mark)
                    i += length
                    kept = i
                    found = True
                    break
            else:
                i += 1
        if not found:
            return text
        out.append(text[kept:])
        scrubbed = "".join(out)
        scrubbed = self._titled.sub(self.name_mark, scrubbed)
        return self._adjacent.sub(self.name_mark, scrubbed)
