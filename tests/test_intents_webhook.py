"""The property "no command word, with any particle or spacing, is ever stored as an answer", driven
through the real webhook: signed requests into /callback, the event worker, replies out to the fake
LINE platform, on both backends.

The unit-level properties (`tests/test_intents.py`) cover `form_input` and the engine with thousands of
examples; this one runs few (each is a round trip through the service) but proves the same on the
whole path: the words arrive one after another in a teacher's open report form, whatever question
the previous word led to, and after each one nothing stored — the conversation's answers, the draft,
a submitted version — holds a command word.
"""

from __future__ import annotations

from typing import Any

import test_approvals_e2e as harness
from approval_office import link, make_office
from hypothesis import HealthCheck, given, settings
from sqlmodel import Session, select
from test_intents import command_words

from bot import intents
from models.messaging import Conversation
from models.reports import ProgressReport, ReportVersion

make_bot = harness.make_bot
pytestmark = harness.pytestmark
T = harness.T
EXAMPLES = 30  # each is a round trip through the service: a few seconds in all


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


def _stored(engine: Any) -> list[str]:
    """Every text the teacher's answers are kept as: the open form, drafts, submitted versions."""
    with Session(engine) as s:
        found = [x for c in s.exec(select(Conversation)) for x in _strings((c.data or {}).get("answers"))]
        found += [x for r in s.exec(select(ProgressReport)) for x in _strings(r.draft)]
        for v in s.exec(select(ReportVersion)):
            found += [v.activities, v.problems, v.suggestions, v.status_reason or ""]
        return found


def _in_form(engine: Any) -> bool:
    with Session(engine) as s:
        return s.exec(select(Conversation).where(Conversation.chat_key == T)).first() is not None


def test_no_command_word_is_ever_stored_through_the_webhook(engine, make_bot, office_clock) -> None:
    office = make_office(engine, today=office_clock.today, projects=1)
    link(engine, office.teacher, T)
    bot = make_bot()
    replies = [bot.say(T, typed) for typed in ["รายงานผล", "2", "50", "1000", "40"]]
    assert "กิจกรรม" in replies[-1][-1]  # the words start at a text question (activities)
    seen: list[str] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(typed=command_words())
    def one_more_word(typed: str) -> None:
        seen.append(typed)
        assert bot.say(T, typed), typed  # every text gets an answer
        for text in _stored(engine):
            assert not intents.is_word(text), (typed, text)
            assert text.strip() not in (typed, typed.strip()), (typed, text)
        if not _in_form(engine):  # cancelled or submitted: open the form again for the next word
            bot.say(T, "รายงานผล")

    one_more_word()
    assert len(seen) >= EXAMPLES // 2
    assert bot.fake.violations == []
