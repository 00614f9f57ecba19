"""The questionnaire flow's LINE edge: campaigns' questionnaires and the year-end evaluation, both run
by the one form engine (`bot/forms/engine.py`, through the questionnaire's face in `evaluation/engine.py`)
with their state in the conversation store.

The handlers call three entry points: `on_text` (typed text; True when this flow took it),
`on_button` (an `ev` postback) and `offer_year_end` (after a report is submitted). The state says
which flow it is (`campaign` or `yearend`) and which campaign or report (`ref`); the questionnaire is
rebuilt from the campaign's stored copy, or from the report, at every step.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot import conversations, intents
from bot.context import EventContext
from bot.intents import Intent, normalize
from bot.postback import Postback
from evaluation import engine
from evaluation.engine import Op, Tap, Text
from evaluation.loader import from_dict
from evaluation.payload import Button, OpenCampaign, StartYearEnd, parse
from evaluation.questionnaire import QuestionKind, Questionnaire
from evaluation.yearend import LESSONS, OUTCOME, questionnaire_for, verdicts
from messages import chat, report_form
from messages import evaluation as txt
from models import campaigns as store
from models.evaluation import Campaign
from models.messaging import Conversation
from models.reporting import is_owner
from models.yearend import YearEndFacts, previous_answers, record_yearend, yearend_facts

log = logging.getLogger(__name__)

FLOW = "evaluation"  # the conversation row's `form`
CAMPAIGN, YEAR_END = "campaign", "yearend"


def _words(*groups: tuple[str, ...]) -> set[str]:
    return {normalize(w) for group in groups for w in group}


# The form command words of the one vocabulary (bot/intents.py), as the engine's operations.
_TYPED: list[tuple[Op, Intent]] = [
    (Op.CANCEL, Intent.CANCEL),
    (Op.BACK, Intent.BACK),
    (Op.HELP, Intent.HELP),
    (Op.DONE, Intent.DONE),
    (Op.SUBMIT, Intent.SUBMIT),
    (Op.EDIT, Intent.EDIT),
    (Op.SKIP, Intent.SKIP),
]
_EVALUATION_WORDS = _words(txt.EVALUATION_WORDS)
# Other flows' menu words, typed while a questionnaire is open: the questionnaire says it is open.
_OTHER_MENU = (Intent.STATUS, Intent.MY_PROJECTS, Intent.REPORT)


def _today(ctx: EventContext) -> date:
    return ctx.now.astimezone(ctx.tz).date()


@dataclass
class _Loaded:
    questionnaire: Questionnaire
    campaign: Campaign | None = None
    facts: YearEndFacts | None = None


# --- entry points -------------------------------------------------------------------------------------


def on_text(ctx: EventContext, text: str) -> bool:
    """Typed text: an answer (or a command word) while a questionnaire is open, or the word that opens
    one (txt.EVALUATION_WORDS). False when the text is not for this flow."""
    if ctx.person is None:
        return False
    conversation = conversations.load(ctx, FLOW)
    typed = normalize(text)
    if conversation is None:
        if typed in _EVALUATION_WORDS and ctx.conversation() is None:  # another flow's text stays its own
            open_menu(ctx)
            return True
        return False
    if intents.match(text, _OTHER_MENU) is not None:
        ctx.reply(txt.busy_in_evaluation())
        _resume(ctx, conversation)
        return True
    if typed in _EVALUATION_WORDS:  # already in it: the waiting question again
        _resume(ctx, conversation)
        return True
    _feed(ctx, conversation, _typed(ctx, conversation, text))
    return True


def on_button(ctx: EventContext, postback: Postback) -> None:
    payload = parse(postback)
    if ctx.person is None or not ctx.is_private or payload is None:
        ctx.reply(chat.unknown_button())
        return
    if isinstance(payload, OpenCampaign):
        open_campaign(ctx, payload.campaign_id)
    elif isinstance(payload, StartYearEnd):
        start_year_end(ctx, payload.report_id)
    else:
        conversation = conversations.load(ctx, FLOW)
        if conversation is None:
            ctx.reply(chat.unknown_button())
            return
        assert isinstance(payload, Button)
        _feed(ctx, conversation, Tap(payload.op, payload.seq, payload.value))


def resume(ctx: EventContext) -> None:
    """Ask the waiting question again (after a message this flow cannot take, such as a photo)."""
    conversation = conversations.load(ctx, FLOW)
    if conversation is not None:
        _resume(ctx, conversation)


def offer_year_end(ctx: EventContext, report: Any, version: Any) -> None:
    """After a report is submitted: a Q4 report offers its project's year-end evaluation."""
    facts = yearend_facts(ctx.session, report.id)
    if facts is not None:
        ctx.reply(
            txt.offer_yearend(report_form.project_label(facts.project.code, facts.project.name), report.id)
        )


def open_menu(ctx: EventContext) -> None:
    assert ctx.person is not None and ctx.person.id is not None
    found = store.open_for(ctx.session, ctx.person.id, _today(ctx))
    if not found:
        ctx.reply(txt.nothing_open())
    elif len(found) == 1:
        open_campaign(ctx, found[0].campaign.id or 0)
    else:
        items = [
            txt.OpenItem(
                o.campaign.id or 0,
                o.campaign.title,
                o.campaign.closes_on,
                o.recipient.answered_at is not None,
            )
            for o in found
        ]
        ctx.reply(txt.choose_campaign(items))


def open_campaign(ctx: EventContext, campaign_id: int) -> None:
    assert ctx.person is not None and ctx.person.id is not None
    campaign = ctx.session.get(Campaign, campaign_id)
    recipient = store.recipient_of(ctx.session, campaign_id, ctx.person.id) if campaign else None
    if campaign is None or recipient is None:
        ctx.reply(txt.not_for_you())
        return
    today = _today(ctx)
    if campaign.opens_on > today:
        ctx.reply(txt.campaign_not_open(campaign.title, campaign.opens_on))
        return
    if not store.is_open(campaign, today):
        ctx.reply(txt.campaign_closed(campaign.title, campaign.closes_on))
        return
    existing = ctx.conversation()
    if existing is not None and existing.form != FLOW:
        ctx.reply(report_form.busy_elsewhere())
        return
    if (
        existing is not None
        and existing.data.get("flow") == CAMPAIGN
        and existing.data.get("ref") == campaign_id
    ):
        _resume(ctx, existing)
        return
    if existing is not None:
        _pause(ctx, existing)
    questionnaire = from_dict(campaign.form)
    answer = store.answer_of(ctx.session, campaign, ctx.person.id)
    answers = dict(answer.answers) if answer is not None else dict(recipient.draft or {})
    step = engine.start(
        questionnaire,
        answers=answers,
        submitted=answer is not None,
        base={"flow": CAMPAIGN, "ref": campaign_id},
    )
    since = answer.submitted_at.astimezone(ctx.tz).date() if answer is not None else None
    ctx.reply(txt.intro(campaign.title, questionnaire.intro, len(questionnaire.questions), since))
    _finish(ctx, None, _Loaded(questionnaire, campaign=campaign), step)


def start_year_end(ctx: EventContext, report_id: int) -> None:
    assert ctx.person is not None and ctx.person.id is not None
    facts = yearend_facts(ctx.session, report_id)
    if facts is None or not is_owner(ctx.session, ctx.person.id, facts.project.id or 0):
        ctx.reply(txt.yearend_not_available())
        return
    existing = ctx.conversation()
    if existing is not None and existing.form != FLOW:
        ctx.reply(report_form.busy_elsewhere())
        return
    if existing is not None:
        if existing.data.get("flow") == YEAR_END and existing.data.get("ref") == report_id:
            _resume(ctx, existing)
            return
        _pause(ctx, existing)
    questionnaire = _yearend_questionnaire(facts)
    earlier = previous_answers(ctx.session, facts)  # evaluated before: revise it, starting from the review
    step = engine.start(
        questionnaire,
        answers=earlier,
        submitted=earlier is not None,
        base={"flow": YEAR_END, "ref": report_id},
    )
    _finish(ctx, None, _Loaded(questionnaire, facts=facts), step)


# --- internals ------------------------------------------------------------------------------------------


def _yearend_questionnaire(facts: YearEndFacts) -> Questionnaire:
    return questionnaire_for(
        report_form.project_label(facts.project.code, facts.project.name), facts.indicators
    )


def _load(ctx: EventContext, conversation: Conversation, *, quiet: bool = False) -> _Loaded | None:
    """The questionnaire the conversation is about; None (and, unless `quiet`, a polite answer) when
    it is gone: the report no longer a Q4 report, the campaign deleted or closed."""
    state = conversation.data
    ref = state.get("ref")
    if state.get("flow") == YEAR_END:
        facts = yearend_facts(ctx.session, ref) if isinstance(ref, int) else None
        if facts is not None:
            return _Loaded(_yearend_questionnaire(facts), facts=facts)
        gone: Any = txt.yearend_not_available()
    else:
        campaign = ctx.session.get(Campaign, ref) if isinstance(ref, int) else None
        if campaign is not None and store.is_open(campaign, _today(ctx)):
            return _Loaded(from_dict(campaign.form), campaign=campaign)
        gone = txt.campaign_closed(campaign.title, campaign.closes_on) if campaign else chat.unknown_button()
    if not quiet:
        ctx.reply(gone)
    return None


def _typed(ctx: EventContext, conversation: Conversation, text: str) -> engine.Input:
    """Typed text as the engine's input: a command word, or an answer."""
    state = conversation.data
    mode = state.get("mode")
    if intents.match_loosely(text, (Intent.CANCEL,)) is Intent.CANCEL:
        return Tap(Op.CANCEL, None)  # cancel forgives typos: it only pauses, nothing is lost
    for op, intent in _TYPED:
        if intents.match(text, (intent,)) is not intent:
            continue
        if op in (Op.SUBMIT, Op.EDIT) and mode != engine.Mode.REVIEW.value:
            continue
        kind, required = _waiting(ctx, conversation)
        if op is Op.SKIP and kind is QuestionKind.TEXT and required:
            continue  # a skip word ("none") is an answer to a required open question
        if op is Op.DONE and kind is not QuestionKind.MULTI:
            continue  # the done word finishes a multi selection; elsewhere it is an answer like any other
        return Tap(op, None)
    return Text(text)


def _waiting(ctx: EventContext, conversation: Conversation) -> tuple[QuestionKind | None, bool]:
    """The kind of the question waiting for its answer and whether it is required (None: none waits)."""
    cursor = conversation.data.get("cursor")
    if conversation.data.get("mode") != engine.Mode.ASK.value or not cursor:
        return None, False
    loaded = _load(ctx, conversation, quiet=True)
    question = next((q for q in loaded.questionnaire.questions if q.key == cursor), None) if loaded else None
    return (question.kind, question.required) if question is not None else (None, False)


def _resume(ctx: EventContext, conversation: Conversation) -> None:
    loaded = _load(ctx, conversation)
    if loaded is None:
        conversations.save(ctx, conversation, FLOW, None)
        return
    ctx.reply(
        *txt.render(engine.resume(loaded.questionnaire, conversation.data).replies, closes_on=_closes(loaded))
    )


def _pause(ctx: EventContext, conversation: Conversation) -> None:
    """Set aside the questionnaire in progress (its answers kept as a draft) to open another."""
    loaded = _load(ctx, conversation)
    if loaded is not None and loaded.campaign is not None:
        _save_draft(ctx, loaded.campaign, dict(conversation.data.get("answers") or {}))
    conversations.save(ctx, conversation, FLOW, None)


def _feed(ctx: EventContext, conversation: Conversation, given: engine.Input) -> None:
    loaded = _load(ctx, conversation)
    if loaded is None:
        conversations.save(ctx, conversation, FLOW, None)
        return
    _finish(ctx, conversation, loaded, engine.step(loaded.questionnaire, conversation.data, given))


def _closes(loaded: _Loaded) -> date | None:
    return loaded.campaign.closes_on if loaded.campaign is not None else None


def _save_draft(ctx: EventContext, campaign: Campaign, answers: dict[str, Any]) -> None:
    assert ctx.person is not None and ctx.person.id is not None
    recipient = store.recipient_of(ctx.session, campaign.id or 0, ctx.person.id)
    if recipient is not None:
        store.save_draft(ctx.session, recipient, answers)


def _finish(ctx: EventContext, conversation: Conversation | None, loaded: _Loaded, step: engine.Step) -> None:
    """Apply the engine's effects, send its replies, store its state."""
    assert ctx.person is not None and ctx.person.id is not None
    after: list[Any] = []
    for effect in step.effects:
        if isinstance(effect, engine.SaveDraft) and loaded.campaign is not None and step.state is None:
            _save_draft(ctx, loaded.campaign, effect.answers)  # paused: the answers wait on the recipient row
        elif isinstance(effect, engine.Submit) and loaded.campaign is not None:
            recipient = store.recipient_of(ctx.session, loaded.campaign.id or 0, ctx.person.id)
            if recipient is None:
                after.append(txt.not_for_you())
                continue
            _row, revised = store.record_answer(
                ctx.session, loaded.campaign, recipient, effect.answers, ctx.now
            )
            after.append(txt.submitted(loaded.campaign.title, loaded.campaign.closes_on, revised))
        elif isinstance(effect, engine.Submit) and loaded.facts is not None:
            judged = verdicts(loaded.facts.indicators, effect.answers)
            record_yearend(
                ctx.session,
                loaded.facts,
                judged,
                outcome=str(effect.answers.get(OUTCOME, "")),
                lessons=str(effect.answers.get(LESSONS, "")),
                person_id=ctx.person.id,
                now=ctx.now,
            )
            label = report_form.project_label(loaded.facts.project.code, loaded.facts.project.name)
            after.append(txt.yearend_saved(label, sum(v.achieved for v in judged), len(judged)))
    messages = [*txt.render(step.replies, closes_on=_closes(loaded)), *after]
    ctx.reply(*messages[:5])
    conversations.save(ctx, conversation, FLOW, step.state)
