"""The form engine's edge: conversation state in the database, LINE inputs in, rendered replies out.

The core (`engine.py`) decides; this module loads the per-user state and saves it through the one
conversation store (`bot/conversations.py`, revision-checked), turns LINE text/postbacks/images into engine inputs, downloads and stores evidence photos,
applies the effects (save the draft, submit a version) and renders the replies.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any

from bot import conversations, intents
from bot.context import EventContext
from bot.forms import engine
from bot.forms.engine import (
    ButtonInput,
    Cancelled,
    Command,
    CommandInput,
    Op,
    PhotoInput,
    SaveDraft,
    Start,
    StepResult,
    Submit,
    TextInput,
)
from bot.forms.report import QUARTERLY_REPORT, DbReportFacts
from bot.forms.spec import Form, Kind
from bot.intents import Intent
from bot.line_ids import is_message_id
from bot.postback import Postback
from messages import chat
from messages import forms as form_text
from messages import report_form as txt
from messages.thai_dates import format_fiscal_year
from models.linking import LinkedPerson
from models.messaging import Conversation
from models.plan import Project, ReportingPeriod
from models.reporting import (
    ReportingError,
    add_photo,
    find_report,
    is_owner,
    latest_version,
    save_draft,
    submit_report,
    version_answers,
    why_reopened,
)
from models.types import ReportStatus
from scheduler.fiscal import FiscalQuarter, fiscal_year_of

log = logging.getLogger(__name__)

FORMS: dict[str, Form] = {QUARTERLY_REPORT.name: QUARTERLY_REPORT}
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_REPLY_MESSAGES = 5  # message objects in one LINE reply
_IMAGE_SIGNATURES = {b"\xff\xd8\xff": ("image/jpeg", "jpg"), b"\x89PNG\r\n\x1a\n": ("image/png", "png")}

# Hook run after a report version is submitted (approval requests); set by the approvals module.
after_submit: list[Callable[[EventContext, Any, Any], None]] = []


# Typed form commands, in the order a word of two of them is read (none is shared today).
_FORM_COMMANDS: tuple[tuple[Intent, Command], ...] = (
    (Intent.CANCEL, Command.CANCEL),
    (Intent.BACK, Command.BACK),
    (Intent.SKIP, Command.SKIP),
    (Intent.EDIT, Command.EDIT),
    (Intent.HELP, Command.HELP),
    (Intent.SUBMIT, Command.SUBMIT),
    (Intent.DONE, Command.DONE),
    (Intent.YES, Command.YES),
    (Intent.NO, Command.NO),
)
_COMMAND_OF = dict(_FORM_COMMANDS)


def conversation_of(ctx: EventContext) -> Conversation | None:
    """The chat's conversation row, whichever flow owns it (callers check `form`)."""
    return ctx.conversation()


def in_form(ctx: EventContext) -> bool:
    """Whether the person is filling in one of the chat forms (not another flow holding the chat)."""
    conversation = conversation_of(ctx)
    return conversation is not None and conversation.form in FORMS


def _facts(ctx: EventContext, *, starting: bool = False) -> DbReportFacts:
    """The report form's facts for one step. `starting`: the form starts afresh, before anything of
    this event is written: the projects and drafts read with the sender are taken, if they were."""
    assert ctx.person is not None and ctx.person.id is not None
    fixed = ctx.__dict__.setdefault("_report_facts_fixed", {})  # a project's facts: read once an event
    today = ctx.now.astimezone(ctx.tz).date()
    person = ctx.person
    read = None
    if starting and isinstance(person, LinkedPerson) and person.on == today:
        read = person.report_projects  # sender_of's with_drafts (bot/handlers.py): no round trip
    return DbReportFacts(
        ctx.session,
        ctx.person.id,
        today,
        due=lambda period, office_id: ctx.report_due_on(period.ends_on, office_id, period.due_on),
        fixed=fixed,
        projects_read=read,
    )


def _today(ctx: EventContext):  # type: ignore[no-untyped-def]
    return ctx.now.astimezone(ctx.tz).date()


# --- entry points used by bot/handlers.py -------------------------------------------------------------


def start_report(ctx: EventContext, *, answers: dict[str, Any] | None = None, note: str = "") -> None:
    """Start (or resume) the quarterly report form."""
    conversation = conversation_of(ctx)
    if conversation is not None and conversation.form not in FORMS:
        # Another flow holds the chat (e.g. an approver's return reason is awaited): leave it alone.
        ctx.reply(txt.busy_elsewhere())
        return
    if conversation is not None and answers is None:
        _apply(
            ctx,
            conversation,
            engine.resume(FORMS[conversation.form], conversation.data, _facts(ctx), _today(ctx)),
        )
        return
    facts = _facts(ctx, starting=answers is None)
    if not facts.projects():
        ctx.reply(txt.no_projects(format_fiscal_year(fiscal_year_of(facts.today))))
        return
    result = engine.start(QUARTERLY_REPORT, facts, facts.today, Start(answers=answers or {}, note=note))
    if result.state is not None and answers:
        result.state["prefilled"] = _prefill_key(result.state.get("answers", {}))
    _apply(ctx, conversation, result)


def text_input(ctx: EventContext, text: str) -> bool:
    """Feed typed text to the person's form; False when they are not in one."""
    conversation = conversation_of(ctx)
    if conversation is None:
        return False
    form = FORMS.get(conversation.form)
    if form is None:
        _end(ctx, conversation)
        return False
    confirming = conversation.data.get("mode") in ("confirm_cancel", "confirm_value")
    inp = form_input(text, confirming=confirming, expects_number=_expects_number(form, conversation))
    _apply(ctx, conversation, engine.step(form, conversation.data, inp, _facts(ctx), _today(ctx)))
    return True


def form_input(text: str, *, confirming: bool = False, expects_number: bool = False) -> engine.Input:
    """What a typed text is inside a form: a command (with any polite ending or spacing), or an answer.

    No word of the vocabulary is ever an answer: one that means nothing here is `Command.WORD`, which
    the engine answers by asking the question again, so a cancel or approve word with a polite
    ending never reaches a director as a report's text.
    """
    if confirming:
        confirmed = intents.match(text, (Intent.YES, Intent.NO))
        if confirmed is not None:
            return CommandInput(_COMMAND_OF[confirmed])
    if expects_number and intents.normalize(text) == "-":
        return TextInput(text)  # "-" before a number is a minus sign, and the number parser explains it
    found = intents.match(text, [intent for intent, _ in _FORM_COMMANDS])
    if found is None:
        # Cancel and help forgive typos (both only ask or explain, so a false match costs nothing).
        found = intents.match_loosely(text, (Intent.CANCEL, Intent.HELP))
    if found is not None:
        return CommandInput(_COMMAND_OF[found])
    if intents.is_word(text):
        return CommandInput(Command.WORD)
    return TextInput(text)


def _expects_number(form: Form, conversation: Conversation) -> bool:
    cursor = conversation.data.get("cursor") or {}
    return bool(cursor) and form.field(cursor["field"]).kind in (Kind.NUMBER, Kind.MONEY, Kind.PERCENT)


def button_input(ctx: EventContext, postback: Postback) -> None:
    conversation = conversation_of(ctx)
    if conversation is None or conversation.form not in FORMS:
        ctx.reply(chat.unknown_button())
        return
    try:
        op = Op(postback.params.get("op", ""))
    except ValueError:
        op = None
    seq = postback.int_param("s")
    if op is None or seq is None:
        ctx.reply(chat.unknown_button())
        return
    inp = ButtonInput(op, seq, postback.params.get("v", ""), postback.params.get("i", ""))
    form = FORMS[conversation.form]
    _apply(ctx, conversation, engine.step(form, conversation.data, inp, _facts(ctx), _today(ctx)))


def expects_photo(ctx: EventContext) -> Conversation | None:
    conversation = conversation_of(ctx)
    if conversation is None or conversation.form not in FORMS:
        return None
    return conversation


def photo_input(ctx: EventContext, conversation: Conversation, message_id: str) -> None:
    form = FORMS[conversation.form]
    cursor = conversation.data.get("cursor") or {}
    at_photo = bool(cursor) and form.field(cursor["field"]).kind is Kind.PHOTO
    answers = conversation.data.get("answers") or {}
    # A photo sent early is kept for the photo question once the report it belongs to is known.
    if not at_photo and not (answers.get("project") and answers.get("period")):
        _apply(
            ctx, conversation, engine.step(form, conversation.data, PhotoInput(""), _facts(ctx), _today(ctx))
        )
        return
    ctx.show_loading(10)
    stored = _store_photo(ctx, conversation, message_id)
    if isinstance(stored, str):
        ctx.reply(txt.photo_rejected(stored))
        _apply(ctx, conversation, engine.resume(form, conversation.data, _facts(ctx), _today(ctx)))
        return
    inp = PhotoInput(str(stored))
    _apply(ctx, conversation, engine.step(form, conversation.data, inp, _facts(ctx), _today(ctx)))


def resume_after(ctx: EventContext) -> None:
    """Ask the current question again (after answering a menu command in the middle of a form)."""
    conversation = conversation_of(ctx)
    if conversation is not None and conversation.form in FORMS:
        form = FORMS[conversation.form]
        _apply(ctx, conversation, engine.resume(form, conversation.data, _facts(ctx), _today(ctx)))


def reopen_report(ctx: EventContext, report_id: int) -> None:
    """Open a returned report with its answers and the director's reason (the return card's button)."""
    from models.reports import ProgressReport

    report = ctx.session.get(ProgressReport, report_id)
    assert ctx.person is not None and ctx.person.id is not None
    if (
        report is None
        or report.status != ReportStatus.RETURNED
        or not is_owner(ctx.session, ctx.person.id, report.project_id)  # someone else's report stays closed
    ):
        ctx.reply(chat.unknown_button())
        return
    answers, note = _saved_answers(ctx, report)
    existing = conversation_of(ctx)
    if existing is not None and existing.form not in FORMS:
        ctx.reply(txt.busy_elsewhere())
        return
    if existing is not None:
        conversations.save(ctx, existing, existing.form, None)
    start_report(ctx, answers=answers, note=note)


# --- internals -------------------------------------------------------------------------------------


def _store_photo(ctx: EventContext, conversation: Conversation, message_id: str) -> int | str:
    if not is_message_id(message_id):
        return "bad_id"  # not from LINE: it must not reach a URL
    if ctx.line is None:
        return "download"
    try:
        content, _declared = ctx.line.get_content(message_id, max_bytes=MAX_PHOTO_BYTES)
    except Exception as exc:  # LineApiError, or anything the network throws
        status = getattr(exc, "status", None)
        return "too_large" if status == 413 else "download"
    kind = next((v for sig, v in _IMAGE_SIGNATURES.items() if content.startswith(sig)), None)
    if kind is None:
        return "bad_type"
    content_type, extension = kind
    digest = hashlib.sha256(content).hexdigest()
    local = ctx.now.astimezone(ctx.tz)
    relative = f"{local:%Y}/{local:%m}/{digest}.{extension}"
    target = ctx.media_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        temporary = target.with_suffix(".part")
        temporary.write_bytes(content)
        temporary.replace(target)  # atomic: a crash never leaves half a photo under its final name
    assert ctx.person is not None and ctx.person.id is not None
    photo = add_photo(
        ctx.session,
        answers=conversation.data.get("answers", {}),
        person_id=ctx.person.id,
        line_message_id=message_id,
        path=relative,
        content_type=content_type,
        size_bytes=len(content),
        sha256=digest,
        now=ctx.now,
    )
    return photo.id or 0


def _prefill_key(answers: dict[str, Any]) -> str | None:
    if answers.get("project") and answers.get("period"):
        return f"{answers['project']}:{answers['period']}"
    return None


def _saved_answers(ctx: EventContext, report: Any) -> tuple[dict[str, Any], str]:
    """A report's draft if it has one, else its latest version; with the return reason if returned."""
    note = ""
    if report.status == ReportStatus.RETURNED:
        why = why_reopened(ctx.session, report)
        if why is not None:
            note = txt.returned_note(
                why.reason or "-", why.by or txt.PLANNING_GROUP, why.at.astimezone(ctx.tz).date()
            )
    if report.draft:
        return dict(report.draft), note or txt.continuing_draft()
    version = latest_version(ctx.session, report)
    if version is not None and report.status in (ReportStatus.RETURNED, ReportStatus.SUBMITTED):
        # Revising a report starts from its latest version, so a second submission keeps the first's answers.
        revising = txt.continuing_submitted(version.version)
        return version_answers(ctx.session, report, version), f"{note}\n{revising}" if note else revising
    return {}, note


def _apply(ctx: EventContext, conversation: Conversation | None, result: StepResult) -> None:
    assert ctx.person is not None and ctx.person.id is not None
    messages: list[Any] = []
    submitted = None
    for effect in result.effects:
        if isinstance(effect, SaveDraft):
            save_draft(ctx.session, ctx.person.id, effect.answers, ctx.now)
        elif isinstance(effect, Submit):
            ctx.show_loading(5)
            try:
                submitted = submit_report(ctx.session, ctx.person.id, effect.answers, ctx.now)
            except ReportingError as error:
                log.info("report not submitted: %s", error.code)
                messages.append(txt.cannot_submit(error.code))
        elif isinstance(effect, Cancelled):
            messages.append(txt.cancelled(kept_draft=effect.kept_draft))

    state = result.state
    replies = list(result.replies)
    if state is not None:
        key = _prefill_key(state.get("answers", {}))
        if key and state.get("prefilled") != key:
            state["prefilled"] = key
            project_id, period_id = (int(x) for x in key.split(":"))
            report = find_report(ctx.session, project_id, period_id)
            if report is not None and (
                report.draft or report.status in (ReportStatus.RETURNED, ReportStatus.SUBMITTED)
            ):
                saved, note = _saved_answers(ctx, report)
                if saved:
                    form = FORMS[state["form"]]
                    merged = engine.prefill(form, state, saved, _facts(ctx), _today(ctx), note)
                    state = merged.state
                    # Keep what came before the question the prefill replaces (problems, notices).
                    replies = [r for r in replies if not isinstance(r, engine.Question | engine.Summary)]
                    replies += merged.replies
                    if state is not None:
                        state["prefilled"] = key

    if submitted is not None:
        report, version = submitted
        project = ctx.session.get(Project, report.project_id)
        period = ctx.session.get(ReportingPeriod, report.period_id)
        label = txt.project_label(project.code, project.name) if project else ""
        quarter = FiscalQuarter(period.fiscal_year, period.quarter) if period else None
        messages.append(txt.submitted(label, quarter, version.version, _approver_names(ctx, report, version)))
        hooked = _run_after_submit(ctx, report, version)
    else:
        hooked = []

    messages = form_text.render(replies) + messages
    # What the hooks say (the year-end card) follows the "submitted" line, within one reply's 5 messages.
    ctx.reply(*messages[: max(0, MAX_REPLY_MESSAGES - len(hooked))])
    ctx.replies.extend(hooked[:MAX_REPLY_MESSAGES])
    _save(ctx, conversation, state)


def _run_after_submit(ctx: EventContext, report: Any, version: Any) -> list[dict[str, Any]]:
    """Run the after-submit hooks and take back the replies they added, to send after the runtime's own."""
    mark = len(ctx.replies)
    for hook in after_submit:
        hook(ctx, report, version)
    hooked = ctx.replies[mark:]
    del ctx.replies[mark:]
    return hooked


def _approver_names(ctx: EventContext, report: Any, version: Any) -> list[str]:
    """Who the approval card goes to (acting approvers included, the submitter never)."""
    from models.approvals import approvers_for

    return [p.full_name for p in approvers_for(ctx.session, report, version, _today(ctx))]


def _save(ctx: EventContext, conversation: Conversation | None, state: dict[str, Any] | None) -> None:
    flow = state["form"] if state is not None else (conversation.form if conversation is not None else "")
    conversations.save(ctx, conversation, flow, state)


def _end(ctx: EventContext, conversation: Conversation) -> None:
    conversations.save(ctx, conversation, conversation.form, None)
