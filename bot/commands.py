"""Recognising the always-available text commands, with common variants and typos tolerated."""

from __future__ import annotations

import unicodedata
from enum import StrEnum

from messages import chat, report_form


class Command(StrEnum):
    HELP = "help"
    MY_PROJECTS = "my_projects"
    STATUS = "status"
    CANCEL = "cancel"
    REGISTER = "register"
    REPORT = "report"


_WORDS: dict[Command, tuple[str, ...]] = {
    Command.HELP: chat.HELP_WORDS,
    Command.MY_PROJECTS: chat.MY_PROJECTS_WORDS,
    Command.STATUS: chat.STATUS_WORDS,
    Command.CANCEL: chat.CANCEL_WORDS,
    Command.REGISTER: chat.REGISTER_WORDS,
    Command.REPORT: report_form.REPORT_WORDS,
}
_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\ufeff"}


def normalize(text: str) -> str:
    """Lower-case, NFC, without spaces, zero-width characters or trailing punctuation."""
    text = unicodedata.normalize("NFC", text).lower()
    text = "".join(ch for ch in text if not ch.isspace() and ch not in _INVISIBLE)
    return text.strip(".!~") or text


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


def match_command(text: str) -> Command | None:
    """The command `text` means, if any: exact variants first, then the nearest within tolerance."""
    typed = normalize(text)
    if not typed:
        return None
    best: tuple[int, Command] | None = None
    for command, words in _WORDS.items():
        for word in words:
            target = normalize(word)
            if typed == target:
                return command
            limit = _tolerance(target)
            if limit == 0:
                continue
            distance = _distance(typed, target, limit)
            if distance <= limit and (best is None or distance < best[0]):
                best = (distance, command)
    return best[1] if best else None


def split_register(text: str) -> str | None:
    """`ลงทะเบียน ABCD-2345` → `ABCD-2345`; None when the text does not start with the word."""
    stripped = text.strip()
    for word in chat.REGISTER_WORDS:
        if stripped.lower().startswith(word):
            rest = stripped[len(word) :].strip(" :：-")
            return rest or None
    return None
