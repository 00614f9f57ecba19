"""LINE's own count of the month's messages, read once a day, beside ours.

``GET /v2/bot/message/quota`` tells the plan's limit (``{"type": "limited", "value": 300}`` or
``{"type": "none"}``) and ``/v2/bot/message/quota/consumption`` what the month has used
(``{"totalUsage": 123}``). LINE counts what we cannot: a push into a group counts every member, and
messages sent from LINE Official Account Manager by hand count too; so the tick spends against the
larger of LINE's count and ours, and against LINE's limit when it states one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["QuotaReader", "QuotaReading", "line_quota_reader", "spendable"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QuotaReading:
    limit: int | None  # None: LINE states no limit
    used: int


QuotaReader = Callable[[], QuotaReading | None]


def line_quota_reader(client: Any) -> QuotaReader:
    """A reader asking LINE through ``client`` (``bot.line_client.LineClient``); None when LINE does
    not answer (the tick then goes by its own count)."""

    def read() -> QuotaReading | None:
        try:
            quota, usage = client.message_quota(), client.message_quota_consumption()
        except Exception as exc:  # LINE down or refusing: our own count still holds
            log.warning("LINE's message quota could not be read (%s)", type(exc).__name__)
            return None
        limit = int(quota["value"]) if quota.get("type") == "limited" and "value" in quota else None
        return QuotaReading(limit, int(usage.get("totalUsage", 0)))

    return read


def spendable(configured: int, ours: int, reading: QuotaReading | None) -> tuple[int, int]:
    """(quota, used) to spend against: LINE's limit when it states one, else ours (0: none); the
    larger of the two counts."""
    if reading is None:
        return configured, ours
    quota = reading.limit if reading.limit is not None else configured
    return quota, max(ours, reading.used)
