"""The one place that reads what people type: normalisation, then intents from one vocabulary.

Thai staff end almost every message with a polite particle (`ยกเลิกค่ะ`, `ข้ามครับ`, `ยืนยันส่งนะคะ`), type
spaces where they like, paste zero-width characters from other apps, mix Thai and Arabic digits, and
sometimes type a link code with the Thai keyboard layout still on. `normalize` removes all of that;
`match` finds which of the intents allowed at this point a text means; `leading` finds an intent at the
start of a longer text (`ส่งกลับค่ะ ขอรูปเพิ่ม` → RETURN, `ขอรูปเพิ่ม`); `link_code_text` finds a link
code. Every handler, the form runtime and the approvals module match through here.

The words live in `messages/vocabulary.py` (they are user-facing text).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable
from enum import StrEnum
from functools import cache, lru_cache

from messages import vocabulary
from models.linking import normalize_code


class Intent(StrEnum):
    # menu commands
    HELP = "help"
    REPORT = "report"
    STATUS = "status"
    MY_PROJECTS = "my_projects"
    VIEW_REPORT = "view_report"
    CONTACT = "contact"
    REGISTER = "register"
    PENDING = "pending"
    APPROVE_ALL = "approve_all"
    APPROVE_CHOSEN = "approve_chosen"
    SCHOOL_STATUS = "school_status"
    AREA_OVERVIEW = "area_overview"
    NOT_SUBMITTED = "not_submitted"
    DASHBOARD = "dashboard"
    DETAILS = "details"
    # form commands
    CANCEL = "cancel"
    BACK = "back"
    SKIP = "skip"
    EDIT = "edit"
    SUBMIT = "submit"
    DONE = "done"
    YES = "yes"
    NO = "no"
    # approval words
    APPROVE = "approve"
    RETURN = "return"


MENU = frozenset(
    {
        Intent.HELP,
        Intent.REPORT,
        Intent.STATUS,
        Intent.MY_PROJECTS,
        Intent.VIEW_REPORT,
        Intent.CONTACT,
        Intent.REGISTER,
        Intent.PENDING,
        Intent.APPROVE_ALL,
        Intent.APPROVE_CHOSEN,
        Intent.SCHOOL_STATUS,
        Intent.AREA_OVERVIEW,
        Intent.NOT_SUBMITTED,
        Intent.DASHBOARD,
        Intent.DETAILS,
    }
)
FORM = frozenset(
    {Intent.CANCEL, Intent.BACK, Intent.SKIP, Intent.EDIT, Intent.SUBMIT, Intent.DONE, Intent.HELP}
)
CONFIRM = frozenset({Intent.YES, Intent.NO})
DECISION = frozenset({Intent.APPROVE, Intent.RETURN})

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
_RUNS = re.compile(r"(.)\1{2,}")  # "ค่าาาา", "!!!": three or more of one character


def words(intent: Intent) -> tuple[str, ...]:
    """The vocabulary of one intent; the first is the canonical word (what buttons show)."""
    return vocabulary.WORDS[intent.name]


def canonical(intent: Intent) -> str:
    return words(intent)[0]


def _clean(text: str) -> str:
    """NFC, lower case, Thai digits as Arabic, no zero-width characters, runs of one letter shortened."""
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE).translate(_THAI_DIGITS).lower()
    return _RUNS.sub(r"\1", text)


def _is_trailing_mark(ch: str) -> bool:
    # Punctuation, symbols and emoji after a command ("ok!", "อนุมัติ 👍"); "?" and "-" are words here.
    return unicodedata.category(ch)[0] in "PS" and ch not in "?-%"


@cache
def _particles() -> tuple[str, ...]:
    return tuple(sorted({_clean(p) for p in vocabulary.POLITE_PARTICLES}, key=len, reverse=True))


def _strip_endings(compact: str, endings: tuple[str, ...]) -> str:
    """Remove polite endings and trailing marks from the end, repeatedly, never down to nothing."""
    while True:
        trimmed = compact.rstrip()
        while trimmed and _is_trailing_mark(trimmed[-1]) and len(trimmed) > 1:
            trimmed = trimmed[:-1].rstrip()
        for ending in endings:
            if trimmed.endswith(ending) and len(trimmed) > len(ending):
                trimmed = trimmed[: -len(ending)]
                break
        if trimmed == compact:
            return compact
        compact = trimmed


def normalize(text: str) -> str:
    """The form a text is matched in: cleaned, without spaces, without polite endings.

    `" ยกเลิก นะคะ "` → `ยกเลิก`; `"OK ค่ะ!"` → `ok`; `"๕๐"` → `50`. Only for matching: what is stored as an
    answer is always what the person typed.
    """
    if len(text) <= _SHORT:
        return _normalize_short(text)  # a command word, an answer: the same few texts again and again
    return _normalize(text)


_SHORT = 64


def _normalize(text: str) -> str:
    compact = "".join(ch for ch in _clean(text) if not ch.isspace())
    return _strip_endings(compact, _particles())


_normalize_short = lru_cache(maxsize=4096)(_normalize)


@cache
def _lookup(intent: Intent) -> frozenset[str]:
    return frozenset(normalize(w) for w in words(intent))


def match(text: str, among: Iterable[Intent]) -> Intent | None:
    """The intent among `among` the whole text means, exactly (after normalisation); first listed wins."""
    typed = normalize(text)
    if not typed:
        return None
    return next((intent for intent in among if typed in _lookup(intent)), None)


def match_loosely(text: str, among: Iterable[Intent]) -> Intent | None:
    """`match`, else the nearest word within a small typing-slip tolerance (`ยกเลก`, `ช่วยเหลอ`)."""
    candidates = tuple(among)
    exact = match(text, candidates)
    if exact is not None:
        return exact
    typed = normalize(text)
    if not typed:
        return None
    best: tuple[int, Intent] | None = None
    for intent in candidates:
        for word in _lookup(intent):
            limit = _tolerance(word)
            if limit == 0:
                continue
            distance = _distance(typed, word, limit)
            if distance <= limit and (best is None or distance < best[0]):
                best = (distance, intent)
    return best[1] if best else None


def is_word(text: str) -> bool:
    """Whether the whole text is any word of the vocabulary (of any intent)."""
    return match(text, Intent) is not None


def is_plain_approval(text: str) -> bool:
    """The whole text is an approval word with polite or softening endings (`อนุมัติได้เลยครับ`, `ok ค่ะ`).

    `ตกลงว่าต้องแก้ก่อน` starts with an approval word but is not an approval.
    """
    typed = _strip_endings(normalize(text), _softened())
    return typed in _lookup(Intent.APPROVE)


@cache
def _softened() -> tuple[str, ...]:
    extra = {_clean(w) for w in vocabulary.APPROVAL_SOFTENERS}
    return tuple(sorted(set(_particles()) | extra, key=len, reverse=True))


def leading(text: str, among: Collection[Intent], *, quoting: bool = True) -> tuple[Intent, str] | None:
    """An intent whose word starts the text, and the rest as typed (polite particles after the word dropped).

    `ส่งกลับค่ะ ขอรูปเพิ่ม` → (RETURN, `ขอรูปเพิ่ม`); `อนุมัติ P001 ครับ` → (APPROVE, `P001 ครับ`). The longest
    word wins, so `ส่งกลับแก้ไข` is not read as `ส่งกลับ` + `แก้ไข`. With `quoting=False` (a text that
    does not quote a card) the decision words too common to decide alone (`ok`, `แก้ไข`) are left out.
    """
    if len(text) <= _SHORT:  # a command word, mostly: the same few texts again and again
        return _leading_short(text, tuple(among), quoting)
    return _leading(text, tuple(among), quoting)


def _leading(text: str, among: tuple[Intent, ...], quoting: bool) -> tuple[Intent, str] | None:
    cleaned = _clean(text)
    for intent, word in _leading_candidates(among, quoting):
        end = _prefix_end(cleaned, word)
        if end is None:
            continue
        rest = _drop_leading_particles(cleaned[end:])
        if rest and cleaned[end - 1 : end].isascii() and rest[:1].isascii() and rest[:1].isalnum():
            continue  # "okay" is not "ok" + "ay"; "approvement" is not "approve" + …
        return intent, _original_tail(text, len(cleaned) - len(rest))
    return None


_leading_short = lru_cache(maxsize=4096)(_leading)


@cache
def _leading_candidates(among: tuple[Intent, ...], quoting: bool) -> tuple[tuple[Intent, str], ...]:
    """The words `leading` tries, cleaned and without spaces, longest first (built once per intent set:
    the vocabulary is fixed, and `leading` runs for most texts)."""
    weak = set() if quoting else {_clean(w) for w in vocabulary.QUOTE_ONLY_DECISION_WORDS}
    return tuple(
        sorted(
            (
                (intent, "".join(_clean(w).split()))
                for intent in among
                for w in words(intent)
                if not (intent in DECISION and _clean(w) in weak)
            ),
            key=lambda pair: len(pair[1]),
            reverse=True,
        )
    )


def _prefix_end(cleaned: str, word: str) -> int | None:
    """Where `word` (without spaces) ends in `cleaned` when `cleaned` starts with it, spaces ignored."""
    i = 0
    for ch in word:
        while i < len(cleaned) and cleaned[i].isspace():
            i += 1
        if i >= len(cleaned) or cleaned[i] != ch:
            return None
        i += 1
    return i


_GLUED = vocabulary.GLUED_PARTICLES


def _drop_leading_particles(rest: str) -> str:
    while True:
        stripped = rest.lstrip(" \t\n:：,.-–")
        for particle in _particles():
            if stripped.startswith(particle):
                after = stripped[len(particle) :]
                # A particle only when a space or the end follows ("คะแนน" is not "คะ" + "แนน"), unless
                # no Thai word starts with it ("ส่งกลับค่ะขอรูปเพิ่ม").
                if not after or after[0].isspace() or after[0] in ":：,." or particle in _GLUED:
                    stripped = after
                    break
        if stripped == rest:
            return rest.strip()
        rest = stripped


def _original_tail(text: str, cleaned_offset: int) -> str:
    """The part of the original text after the first `cleaned_offset` cleaned characters."""
    # Cleaning only drops invisible characters, shortens runs and folds case/digits, so count the
    # kept characters of the original until the offset is reached.
    consumed = 0
    for index in range(len(text) + 1):
        if len(_clean(text[:index])) >= cleaned_offset:
            consumed = index
            break
    else:
        consumed = len(text)
    return text[consumed:].strip()


# --- link codes ---------------------------------------------------------------------------------------

# The Thai Kedmanee layout, key by key: a code typed with the Thai keyboard still on arrives as the Thai
# characters on the keys pressed. Unshifted and shifted letters both stand for the (upper-case) letter.
_KEDMANEE = {
    "ๅ": "1", "/": "2", "-": "3", "ภ": "4", "ถ": "5", "ุ": "6", "ึ": "7", "ค": "8", "ต": "9", "จ": "0",
    "ๆ": "Q", "ไ": "W", "ำ": "E", "พ": "R", "ะ": "T", "ั": "Y", "ี": "U", "ร": "I", "น": "O", "ย": "P",
    "ฟ": "A", "ห": "S", "ก": "D", "ด": "F", "เ": "G", "้": "H", "่": "J", "า": "K", "ส": "L",
    "ผ": "Z", "ป": "X", "แ": "C", "อ": "V", "ิ": "B", "ื": "N", "ท": "M",
    "๐": "Q", '"': "W", "ฎ": "E", "ฑ": "R", "ธ": "T", "ํ": "Y", "๊": "U", "ณ": "I", "ฯ": "O", "ญ": "P",
    "ฤ": "A", "ฆ": "S", "ฏ": "D", "โ": "F", "ฌ": "G", "็": "H", "๋": "J", "ษ": "K", "ศ": "L",
    "(": "Z", ")": "X", "ฉ": "C", "ฮ": "V", "ฺ": "B", "์": "N", "?": "M",
}  # fmt: skip
_KEDMANEE_TABLE = str.maketrans(_KEDMANEE)


def _as_code(text: str) -> str | None:
    """`text` when it reads as a link code (Thai digits and spaces allowed), else its Thai-layout reading."""
    # No Unicode normalisation here: it reorders stacked marks ("ุ่" → "ุ่"), which are keys in order.
    cleaned = text.translate(_INVISIBLE).strip()
    if normalize_code(cleaned) is not None:
        return cleaned
    if not any("\u0e00" <= ch <= "\u0e7f" for ch in cleaned):
        return None
    # Thai digits are typed as digits far more often than as shifted keys: keep them as digits.
    retyped = "".join(ch if ch in "๑๒๓๔๕๖๗๘๙" else ch.translate(_KEDMANEE_TABLE) for ch in cleaned)
    retyped = retyped.replace("ข", "-")  # the key left of "=" is "-" on a Latin keyboard
    return retyped if normalize_code(retyped) is not None else None


def link_code_text(text: str) -> str | None:
    """The link code in `ABCD-2345 ค่ะ` or `ฟิแกข/-ภถ` (Thai layout), or whatever follows `ลงทะเบียน`
    (a wrong code there is still a try, and answered as one); None when the text holds no code."""
    found = leading(text, (Intent.REGISTER,))
    body = found[1] if found else text
    for candidate in (body, _without_particles(body)):
        code = _as_code(candidate)
        if code is not None:
            return code
    return body or None if found else None


def starts_with_register(text: str) -> bool:
    return leading(text, (Intent.REGISTER,)) is not None


def _without_particles(text: str) -> str:
    cleaned = text.translate(_INVISIBLE).strip()  # not `_clean`: "AAAB-2345" keeps its three A's
    for particle in _particles():
        if cleaned.endswith(particle):
            return cleaned[: -len(particle)].strip()
    return cleaned


# --- typing slips ------------------------------------------------------------------------------------


def _distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, giving up (returning limit + 1) once it must exceed `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def _tolerance(word: str) -> int:
    # Short words must match exactly ("?" or "ok"); longer ones forgive one slip per ~5 characters.
    return 0 if len(word) <= 3 else max(1, len(word) // 5)
