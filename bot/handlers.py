"""Event handlers: what the bot does with each kind of LINE event.

Handlers run inside the transaction that marks the event processed; they change data through
`models/` functions and answer through `ctx.reply(...)`, which the processor turns into outbox rows.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from functools import lru_cache

from linebot.v3.webhooks import (
    FollowEvent,
    ImageMessageContent,
    JoinEvent,
    LeaveEvent,
    MessageEvent,
    PostbackEvent,
    TextMessageContent,
    UnfollowEvent,
)
from sqlmodel import select

from bot import approval_selection, approvals, dashboard_link, intents, menus, report_view
from bot import evaluation as evaluation_flow
from bot.context import EventContext
from bot.forms import runtime as forms
from bot.intents import Intent
from bot.postback import Postback, PostbackRegistry, decode
from messages import chat
from messages import menus as menu_text
from messages.menus import MenuRole
from messages.thai_dates import format_fiscal_year
from models.linking import LinkResult, prefetch_senders, redeem_link_code, sender_of, set_reachability
from models.messaging import ChatBinding
from models.types import ChatType, Reachability
from scheduler.fiscal import FiscalQuarter, fiscal_year_of

log = logging.getLogger(__name__)

postbacks: PostbackRegistry[EventContext] = PostbackRegistry()
forms.after_submit.append(approvals.on_submitted)  # a submitted report asks its approver to decide
forms.after_submit.append(evaluation_flow.offer_year_end)  # issue 19: a Q4 report offers the year-end step


def handle_event(ctx: EventContext) -> None:
    """Route one event to its handler."""
    event = ctx.event
    if ctx.user_id and ctx.is_private:
        today = _today(ctx)
        with_projects, with_drafts = _sender_reads(event)
        ctx.person, conversation = sender_of(
            ctx.session,
            ctx.user_id,
            today,
            fiscal_year_of(today),
            with_projects=with_projects,
            with_drafts=with_drafts,
        )
        if ctx.person is not None:
            ctx.remember_conversation(conversation)  # read in the same round trip
        if isinstance(event, (MessageEvent, PostbackEvent, FollowEvent)):
            menus.keep_rich_menu(ctx)
    if isinstance(event, FollowEvent):
        on_follow(ctx)
    elif isinstance(event, UnfollowEvent):
        on_unfollow(ctx)
    elif isinstance(event, JoinEvent):
        ctx.reply(chat.group_joined())
    elif isinstance(event, LeaveEvent):
        on_leave(ctx)
    elif isinstance(event, MessageEvent):
        on_message(ctx)
    elif isinstance(event, PostbackEvent):
        on_postback(ctx)
    else:
        log.info("event type %s needs no answer", ctx.row.event_type)


def prepare_batch(contexts: Sequence[EventContext]) -> None:
    """Before a batch's events are handled (bot/processor.py): the senders of its one-on-one events
    read in one round trip per day and kind, for `handle_event`'s `sender_of` to take
    (models/linking.py `prefetch_senders`)."""
    senders: dict[tuple[date, bool, bool], list[str]] = {}
    for ctx in contexts:
        if ctx.user_id and ctx.is_private:
            senders.setdefault((_today(ctx), *_sender_reads(ctx.event)), []).append(ctx.user_id)
    for (today, with_projects, with_drafts), users in senders.items():
        prefetch_senders(
            contexts[0].session,
            users,
            today,
            fiscal_year_of(today),
            with_projects=with_projects,
            with_drafts=with_drafts,
        )


_PROJECT_WORDS = (Intent.STATUS, Intent.MY_PROJECTS)  # their answers list the person's projects
_READ_WORDS = (*_PROJECT_WORDS, Intent.REPORT)  # the report form starts from their projects and drafts
_NO_READS = (False, False)


def _sender_reads(event: object) -> tuple[bool, bool]:
    """What to read with the sender (`sender_of`'s `with_projects`, `with_drafts`): their projects and
    states when the event looks like the status or my-projects word, their projects and drafts when
    it looks like the report word (typed or a rich-menu button). A wrong guess only reads a few rows for nothing."""
    if isinstance(event, MessageEvent) and isinstance(event.message, TextMessageContent):
        text = event.message.text
        if len(text) <= _SHORT_TEXT:
            return _short_text_reads(text)
        return _reads_of(intents.match(text, _READ_WORDS))
    if isinstance(event, PostbackEvent):
        postback = decode(event.postback.data)
        if postback is not None and postback.action == "cmd":
            name = postback.params.get("name")
            return _reads_of(next((i for i in _READ_WORDS if i == name), None))
    return _NO_READS


def _reads_of(intent: Intent | None) -> tuple[bool, bool]:
    return (intent in _PROJECT_WORDS, intent is Intent.REPORT) if intent is not None else _NO_READS


_SHORT_TEXT = 64  # a command word: the same few texts again and again, asked twice an event


@lru_cache(maxsize=4096)
def _short_text_reads(text: str) -> tuple[bool, bool]:
    return _reads_of(intents.match(text, _READ_WORDS))


def on_follow(ctx: EventContext) -> None:
    person = ctx.person
    if person is None:
        ctx.reply(chat.greeting_unlinked())
        return
    set_reachability(ctx.session, person.id or 0, Reachability.FOLLOWING, ctx.now)
    ctx.reply(chat.greeting_linked(menus.address(ctx), menus.labels(ctx)))


def on_unfollow(ctx: EventContext) -> None:
    if ctx.person is not None:
        set_reachability(ctx.session, ctx.person.id or 0, Reachability.BLOCKED, ctx.now)


def on_leave(ctx: EventContext) -> None:
    chat_id = ctx.chat_id
    if chat_id is None:
        return
    binding = ctx.session.exec(select(ChatBinding).where(ChatBinding.chat_id == chat_id)).first()
    if binding is not None and binding.active:
        binding.active = False
        binding.left_at = ctx.now
        ctx.session.add(binding)


def on_message(ctx: EventContext) -> None:
    event = ctx.event
    assert isinstance(event, MessageEvent)
    message = event.message
    if not ctx.is_private:
        if isinstance(message, TextMessageContent):
            on_group_text(ctx, message.text)
        return  # people talk to each other in groups: other messages there are not for the bot
    if isinstance(message, TextMessageContent):
        if (
            ctx.person is not None
            and message.quoted_message_id
            and approvals.on_quote_reply(ctx, message.quoted_message_id, message.text)
        ):
            return
        on_private_text(ctx, message.text)
        return
    if ctx.person is None:
        ctx.reply(chat.link_prompt())
        return
    if isinstance(message, ImageMessageContent):
        conversation = forms.expects_photo(ctx)
        if conversation is not None:
            forms.photo_input(ctx, conversation, message.id)
            return
    kind = "image" if isinstance(message, ImageMessageContent) else str(getattr(message, "type", "other"))
    ctx.reply(chat.unsupported_message(kind))
    forms.resume_after(ctx)
    evaluation_flow.resume(ctx)  # issue 19: or the questionnaire's question


# Menu words that still work in the middle of a form (the question is asked again after the answer);
# help and cancel belong to the form there.
_MENU_IN_FORM = tuple(i for i in intents.MENU if i not in (Intent.HELP, Intent.REGISTER))
# Outside a form, in this order (a word of two intents means the first).
_MENU_ORDER = (
    Intent.REPORT,
    Intent.HELP,
    Intent.MY_PROJECTS,
    Intent.STATUS,
    Intent.VIEW_REPORT,
    Intent.CONTACT,
    Intent.SCHOOL_STATUS,
    Intent.AREA_OVERVIEW,
    Intent.NOT_SUBMITTED,
    Intent.DASHBOARD,
    Intent.REGISTER,
    Intent.CANCEL,
)


def on_private_text(ctx: EventContext, text: str) -> None:
    if ctx.person is None:
        on_unlinked_text(ctx, text)
        return
    waiting = approvals.pending_return(ctx)
    if waiting is not None:
        approvals.on_reason_text(ctx, waiting[0], waiting[1], text)
        return
    if evaluation_flow.on_text(ctx, text):  # issue 19: a questionnaire in progress, or "แบบประเมิน"
        return
    if forms.conversation_of(ctx) is not None:
        menu = intents.match(text, _MENU_IN_FORM)
        if menu is None:
            forms.text_input(ctx, text)
        elif menu is Intent.REPORT:
            forms.resume_after(ctx)
        else:
            on_menu(ctx, menu, text)
            forms.resume_after(ctx)
        return
    details = intents.leading(text, (Intent.DETAILS,))
    if details is not None:
        report_view.show_details(ctx, details[1])
        return
    if approvals.on_text(ctx, text):
        return
    command = intents.match_loosely(text, _MENU_ORDER)
    if command is None and (intents.link_code_text(text) or intents.starts_with_register(text)):
        command = Intent.REGISTER
    if command is None:
        ctx.reply(chat.not_understood(menus.labels(ctx)))
    else:
        on_menu(ctx, command, text)


def on_menu(ctx: EventContext, command: Intent, text: str = "") -> None:
    """A menu command from a linked person (typed, or a rich-menu / quick-reply button)."""
    assert ctx.person is not None
    roles = menus.roles(ctx)
    reporter = MenuRole.REPORTER in roles
    if command is Intent.REPORT:
        forms.start_report(ctx)
    elif command in (Intent.STATUS, Intent.MY_PROJECTS) and not reporter:
        # A director or planner who owns no project: what "status" means for them.
        if command is Intent.STATUS and MenuRole.DIRECTOR in roles:
            menus.reply_school_status(ctx)
        elif command is Intent.STATUS and MenuRole.PLANNER in roles:
            menus.reply_area_overview(ctx)
        else:
            ctx.reply(menu_text.no_own_projects(roles, format_fiscal_year(fiscal_year_of(_today(ctx)))))
    elif command is Intent.MY_PROJECTS:
        reply_my_projects(ctx)
    elif command is Intent.STATUS:
        reply_status(ctx)
    elif command is Intent.CANCEL:
        ctx.reply(chat.nothing_to_cancel(menus.labels(ctx)))
    elif command is Intent.REGISTER:
        ctx.reply(chat.link_account_already_linked(ctx.person.full_name, menus.labels(ctx)))
    elif command is Intent.CONTACT:
        menus.reply_contact(ctx)
    elif command is Intent.VIEW_REPORT:
        report_view.reply_my_reports(ctx)
    elif command is Intent.DETAILS:
        report_view.show_details(ctx, "")
    elif command is Intent.SCHOOL_STATUS and MenuRole.DIRECTOR in roles:
        menus.reply_school_status(ctx)
    elif command is Intent.AREA_OVERVIEW and MenuRole.PLANNER in roles:
        menus.reply_area_overview(ctx)
    elif command is Intent.NOT_SUBMITTED and MenuRole.PLANNER in roles:
        menus.reply_not_submitted(ctx)
    elif command is Intent.DASHBOARD:
        dashboard_link.reply(ctx)  # the link, or why the dashboard is not for this person
    elif not approvals.on_menu(ctx, command, text):
        menus.reply_help(ctx)  # help, or a command of another role: the person's own menu


def on_unlinked_text(ctx: EventContext, text: str) -> None:
    candidate = intents.link_code_text(text)
    if candidate is None:
        if intents.match_loosely(text, (Intent.HELP,)) is Intent.HELP:
            ctx.reply(chat.help_unlinked())
        else:
            ctx.reply(chat.link_prompt())
        return
    assert ctx.user_id is not None
    outcome = redeem_link_code(
        ctx.session, text=candidate, line_user_id=ctx.user_id, now=ctx.now, limits=ctx.link_limits
    )
    if outcome.result is LinkResult.LINKED and outcome.person is not None:
        office_name = outcome.office.name if outcome.office else ""
        ctx.person = outcome.person
        ctx.reply(chat.linked_ok(outcome.person.full_name, office_name, menus.labels(ctx)))
        menus.keep_rich_menu(ctx, just_linked=True)  # their roles' menu replaces the "register" one at once
    else:
        ctx.reply(
            _link_failure_message(outcome.result, outcome.tries_left, outcome.locked_minutes, outcome.person)
        )


_GROUP_COMMANDS = (Intent.HELP, Intent.STATUS, Intent.AREA_OVERVIEW, Intent.NOT_SUBMITTED)


def on_group_command(ctx: EventContext, command: Intent) -> None:
    """`สถานะ` / `ภาพรวมเขต` / `ใครยังไม่ส่ง` in a planning group's bound LINE group: the area's picture.

    An unbound group gets nothing: the bot does not show an office's figures to a chat it does not know.
    """
    binding = menus.group_binding(ctx.session, ctx.chat_id)
    if binding is None:
        return
    labels = (intents.canonical(Intent.AREA_OVERVIEW), intents.canonical(Intent.NOT_SUBMITTED))
    if command is Intent.NOT_SUBMITTED:
        ctx.reply(
            menus.not_submitted_message(
                ctx.session, binding.office_id, _today(ctx), labels, ctx.report_due_on
            )
        )
    else:
        ctx.reply(
            menus.overview_message(ctx.session, binding.office_id, _today(ctx), labels, ctx.report_due_on)
        )


def on_group_text(ctx: EventContext, text: str) -> None:
    candidate = intents.link_code_text(text)
    if candidate is None:
        asked = intents.match(text, _GROUP_COMMANDS)
        if asked is Intent.HELP:
            ctx.reply(chat.help_group())
        elif asked is not None:
            on_group_command(ctx, asked)
        return  # anything else is people talking to each other
    chat_id, user_id = ctx.chat_id, ctx.user_id
    if chat_id is None or user_id is None:
        return
    chat_type = ChatType.GROUP if ctx.raw.get("source", {}).get("type") == "group" else ChatType.ROOM
    outcome = redeem_link_code(
        ctx.session,
        text=candidate,
        line_user_id=user_id,
        now=ctx.now,
        chat_id=chat_id,
        chat_type=chat_type,
        limits=ctx.link_limits,
    )
    if outcome.result is LinkResult.GROUP_BOUND and outcome.office is not None:
        ctx.reply(chat.group_bound(outcome.office.name))
    elif outcome.result is LinkResult.GROUP_ALREADY_BOUND and outcome.office is not None:
        ctx.reply(chat.group_already_bound(outcome.office.name))
    else:
        ctx.reply(
            _link_failure_message(outcome.result, outcome.tries_left, outcome.locked_minutes, outcome.person)
        )


def _link_failure_message(result: LinkResult, tries_left: int, minutes: int, person: object) -> object:
    if result is LinkResult.LOCKED:
        return chat.link_locked(minutes)
    if result is LinkResult.THROTTLED:
        return chat.link_busy(minutes)
    if result is LinkResult.ACCOUNT_ALREADY_LINKED:
        return chat.link_account_already_linked(getattr(person, "full_name", ""))
    if result is LinkResult.GROUP_CODE_IN_PRIVATE_CHAT:
        return chat.link_code_for_group_only()
    if result is LinkResult.PERSON_CODE_IN_GROUP:
        return chat.link_code_for_person_only()
    return chat.link_code_wrong(tries_left)


def _today(ctx: EventContext):  # type: ignore[no-untyped-def]
    return ctx.now.astimezone(ctx.tz).date()


# The menu answers below start no loading animation (`ctx.show_loading`): each is a query or two,
# answered within milliseconds, and the animation is a call to LINE inside the event's transaction
# that takes longer than the answer itself. Slow steps (a photo's download, a submission) keep it.


def reply_my_projects(ctx: EventContext) -> None:
    assert ctx.person is not None and ctx.person.id is not None
    today = _today(ctx)
    fiscal_year = fiscal_year_of(today)
    period = ctx.open_period()
    states = ctx.projects_of_person(fiscal_year, period.id if period else None)
    ctx.reply(chat.my_projects(fiscal_year, [_line(s) for s in states]))


def reply_status(ctx: EventContext) -> None:
    assert ctx.person is not None and ctx.person.id is not None
    today = _today(ctx)
    period = ctx.open_period()
    if period is not None:
        quarter = FiscalQuarter(period.fiscal_year, period.quarter)
        fiscal_year, period_id = period.fiscal_year, period.id
        due_on = ctx.report_due_on(period.ends_on, ctx.person.office_id, period.due_on)
    else:
        fiscal_year = fiscal_year_of(today)
        quarter, due_on, period_id = None, None, None
    states = ctx.projects_of_person(fiscal_year, period_id)
    if quarter is None:
        from scheduler.fiscal import quarter_containing

        quarter = quarter_containing(today)
    ctx.reply(chat.my_status(quarter, due_on, [_line(s) for s in states]))


def _line(state) -> chat.ProjectLine:  # type: ignore[no-untyped-def]
    return chat.ProjectLine(
        code=state.code,
        name=state.name,
        budget_satang=state.budget_satang,
        report_state=state.report_status or "none",
        progress_pct=state.progress_pct,
    )


def on_postback(ctx: EventContext) -> None:
    event = ctx.event
    assert isinstance(event, PostbackEvent)
    postback = decode(event.postback.data)
    if ctx.is_private and ctx.person is None:
        # The unlinked rich menu's "help" explains the service; anything else asks for the code.
        asked_help = (
            postback is not None and postback.action == "cmd" and postback.params.get("name") == "help"
        )
        ctx.reply(chat.help_unlinked() if asked_help else chat.link_prompt())
        return
    handler = postbacks.get(postback.action) if postback else None
    if postback is None or handler is None:
        ctx.reply(chat.unknown_button())
        return
    handler(ctx, postback)


@postbacks.register("f")
def on_form_button(ctx: EventContext, postback: Postback) -> None:
    """A button of a chat form (`v1|f|op=…|s=<seq>|…`)."""
    if ctx.person is None or not ctx.is_private:
        ctx.reply(chat.unknown_button())
        return
    forms.button_input(ctx, postback)


@postbacks.register("report")
def on_report_button(ctx: EventContext, postback: Postback) -> None:
    """`v1|report|r=<report id>`: reopen a returned report to revise it."""
    report_id = postback.int_param("r")
    if ctx.person is None or report_id is None:
        ctx.reply(chat.unknown_button())
        return
    forms.reopen_report(ctx, report_id)


@postbacks.register("ap")
def on_approval_button(ctx: EventContext, postback: Postback) -> None:
    """`v1|ap|r=<report>|n=<version>|d=a|r`: a decision from an approval card."""
    approvals.on_decision_button(ctx, postback)


@postbacks.register("apall")
def on_approve_all_button(ctx: EventContext, postback: Postback) -> None:
    approvals.on_approve_all(ctx, postback)


@postbacks.register("apsel")
def on_approval_selection_button(ctx: EventContext, postback: Postback) -> None:
    approval_selection.on_button(ctx, postback)  # issue 16: tap to select several reports


@postbacks.register("ev")
def on_evaluation_button(ctx: EventContext, postback: Postback) -> None:
    """`v1|ev|op=…`: questionnaires and the year-end evaluation (evaluation/payload.py)."""
    evaluation_flow.on_button(ctx, postback)


@postbacks.register("cmd")
def on_command_button(ctx: EventContext, postback: Postback) -> None:
    """Rich-menu buttons send `v1|cmd|name=<command>`; same effect as typing the command."""
    name = postback.params.get("name", "")
    try:
        command = Intent(name)
    except ValueError:
        command = None
    if command is None or command not in intents.MENU | {Intent.CANCEL}:
        ctx.reply(chat.unknown_button())
        return
    if ctx.person is None:
        ctx.reply(chat.help_group() if command is Intent.HELP else chat.unknown_button())
        return
    if forms.in_form(ctx) and command in _MENU_IN_FORM:
        if command is not Intent.REPORT:
            on_menu(ctx, command)
        forms.resume_after(ctx)
        return
    on_menu(ctx, command)
