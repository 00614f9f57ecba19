"""The Jinja2 filters every dashboard template and the annual report use: BE dates, baht, percentages."""

from __future__ import annotations

from typing import Any

import messages.dashboard as text
import messages.evaluation as evaluation_text
from evaluation.results import percent
from messages.thai_dates import format_date
from messages.thai_numbers import format_baht, format_number, format_percent


def add_filters(env: Any) -> None:
    env.filters["be_date"] = lambda d: format_date(d) if d else ""
    env.filters["baht"] = lambda s: format_baht(int(s)) if s is not None else "–"
    env.filters["percent"] = lambda v: format_percent(v) if v is not None else "–"
    env.filters["share"] = lambda part, whole: format_percent(percent(part, whole)) if whole else "–"
    env.filters["number"] = lambda v: format_number(v) if v is not None else "–"
    env.filters["state_label"] = lambda s: text.STATE_LABELS.get(s, s)
    env.filters["implementation"] = text.implementation_label
    env.globals["text"] = text
    env.globals["ev"] = evaluation_text
