"""The service's log: JSON lines, one event a line, with no personal data at any level.

Code logs our own row ids and counts, never a LINE user id, a name, a message text, a link code or a
reply token. `RedactingFilter` enforces it for everything that reaches the log, the libraries' lines
included (httpx logs URLs, and a profile URL names a user): it rewrites each record's text, replacing
what has the shape of personal data, and it keeps an exception's type and where it was raised but not
its message (an SDK validation error quotes the input, a database error its parameters, a KeyError
the key). Log lines are in English by rule, so Thai text in one is somebody's words or name.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from datetime import UTC, datetime
from typing import Any, TextIO

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # LINE user, group and room ids; then any long token (reply and quote tokens, access tokens).
    (re.compile(r"(?<![0-9A-Za-z])[UCR][0-9a-f]{32}(?![0-9A-Za-z])"), "[line-id]"),
    (re.compile(r"(?<![\w+=-])(?=[\w+=-]*\d)(?=[\w+=-]*[A-Za-z])[\w+=-]{20,}"), "[token]"),
    # Link codes as shown (ABCD-2345), or typed with a space and a digit, or as eight characters with a
    # digit, or in capitals.
    (
        re.compile(r"(?<![0-9A-Za-z-])[A-HJ-NP-Za-hj-np-z2-9]{4}-[A-HJ-NP-Za-hj-np-z2-9]{4}(?![0-9A-Za-z-])"),
        "[code]",
    ),
    (
        re.compile(
            r"(?<![0-9A-Za-z])(?=[A-Za-z ]*\d)[A-HJ-NP-Za-hj-np-z2-9]{4} [A-HJ-NP-Za-hj-np-z2-9]{4}(?![0-9A-Za-z])"
        ),
        "[code]",
    ),
    (re.compile(r"(?<![0-9A-Za-z])(?=[A-Za-z]*\d)[A-HJ-NP-Za-hj-np-z2-9]{8}(?![0-9A-Za-z])"), "[code]"),
    (re.compile(r"(?<![0-9A-Za-z])[A-HJ-NP-Z2-9]{8}(?![0-9A-Za-z])"), "[code]"),
    # E-mail addresses, phone numbers.
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), "[email]"),
    (re.compile(r"(?<!\d)(?:\+66|0)[-\s]?\d{1,2}[-\s]?\d{3}[-\s]?\d{4}(?!\d)"), "[phone]"),
    # Thai script: names, message texts, office names.
    (re.compile(r"[\u0e00-\u0e7f][\u0e00-\u0e7f\s\d.,()]*"), "[thai]"),
)


def redact(text: str) -> str:
    """`text` with everything shaped like personal data replaced by a placeholder."""
    for pattern, placeholder in _PATTERNS:
        text = pattern.sub(placeholder, text)
    return text


def _where(tb: Any) -> list[str]:
    """The frames an exception passed through, as `path:line in function` (paths from the package)."""
    frames = []
    for frame in traceback.extract_tb(tb)[-12:]:
        path = frame.filename
        for marker in ("site-packages/", "/work/", "/app/"):
            if marker in path:
                path = path.split(marker, 1)[1]
        frames.append(f"{path}:{frame.lineno} in {frame.name}")
    return frames


class RedactingFilter(logging.Filter):
    """Rewrites every record that passes: its message redacted and formatted once, its exception
    reduced to the exception's type and frames."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "tidtam_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not fit its format: keep the format only
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and record.exc_info[0] is not None:
            kind, _, tb = record.exc_info
            chain = []
            error: BaseException | None = record.exc_info[1]
            while error is not None and len(chain) < 4:
                chain.append(type(error).__name__)
                error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
            record.tidtam_exc = {"type": kind.__name__, "chain": chain[1:], "where": _where(tb)}
        record.exc_info, record.exc_text = None, None
        if record.stack_info:
            record.stack_info = None
        record.tidtam_redacted = True
        return True


class JsonLinesFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO), level, logger, message, and the exception if any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "pid": record.process,
        }
        exc = getattr(record, "tidtam_exc", None)
        if exc:
            line["exc"] = exc
        return json.dumps(line, ensure_ascii=False)


_HANDLER_NAME = "tidtam"


_CHATTY = ("apscheduler.executors.default", "apscheduler.scheduler", "httpx", "httpcore")


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> logging.Handler:
    """Send every log record of this process through the redacting filter to `stream` (standard
    error) as JSON lines. Replaces a handler an earlier call installed; returns the handler."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonLinesFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    # APScheduler logs every run of every interval job at INFO (the dispatcher's, every 5 s), httpx
    # every request to LINE: noise that buries what matters; their warnings and errors still come.
    # At DEBUG everything is asked for, and everything is logged (redacted as always).
    for name in _CHATTY:
        logging.getLogger(name).setLevel(logging.NOTSET if root.level <= logging.DEBUG else logging.WARNING)
    logging.captureWarnings(True)
    return handler
