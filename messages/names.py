"""Person names as Thai staff write them: title, first name, last name.

Names come from the office's workbook as one string, with the title glued on (`นางสาวสมใจ ใจดี`) or
apart (`นาย สมชาย ใจดี`), sometimes with several titles (`ว่าที่ร้อยตรี ดร.สมศักดิ์ รักเรียน`). People
are addressed by first name (`คุณสมใจ`), never by title (`คุณนางสาวสมใจ`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

_WRITTEN_TITLES = (
    "นาย", "นาง", "นางสาว", "น.ส.", "ด.ช.", "ด.ญ.", "เด็กชาย", "เด็กหญิง",
    "ดร.", "ผศ.", "รศ.", "ศ.", "ผศ.ดร.", "รศ.ดร.", "ศ.ดร.", "นพ.", "พญ.",
    "ว่าที่ร้อยตรี", "ว่าที่ร้อยตรีหญิง", "ว่าที่ร.ต.", "ว่าที่ ร.ต.", "ว่าที่ร.ต.หญิง",
    "ร.ต.", "ร.ท.", "ร.อ.", "พ.ต.", "พ.ท.", "พ.อ.", "จ.ส.อ.", "ส.อ.",
    "mr.", "mrs.", "ms.", "miss", "dr.",
)  # fmt: skip
# Longest first, so "นางสาว" is not read as "นาง" + "สาว…".
TITLES = tuple(sorted(_WRITTEN_TITLES, key=len, reverse=True))


@dataclass(frozen=True)
class Name:
    title: str
    first: str
    last: str


@lru_cache(maxsize=4096)  # the same few names again and again (a person's each answer); a Name is frozen
def split_name(full_name: str) -> Name:
    """`นางสาวสมใจ ใจดี` → (`นางสาว`, `สมใจ`, `ใจดี`); a name without a title keeps an empty one."""
    rest = " ".join(full_name.split())
    titles: list[str] = []
    while True:
        title = next((t for t in TITLES if rest.lower().startswith(t) and len(rest) > len(t)), None)
        if title is None:
            break
        titles.append(rest[: len(title)])
        rest = rest[len(title) :].lstrip()
    first, _, last = rest.partition(" ")
    if not first and titles:  # a title alone is no name: keep what was written
        return Name("", full_name.strip(), "")
    return Name(" ".join(titles), first, last)


def first_name(full_name: str) -> str:
    return split_name(full_name).first or full_name.strip()
