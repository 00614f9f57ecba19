"""Directors decide by reply: approval cards, buttons, quote-replies, plain text, approve-all.

Every way of deciding ends in `models.approvals.record_decision`, so the rules (current approver or
acting approver, not one's own report, current version only, one decision per version and level) hold
whatever the channel. Cards and outcome notices are pushes through the outbox; the answer to the
director's own message is a free reply.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot import conversations, intents
from bot.context import EventContext
from bot.intents import Intent
from bot.media_links import MediaLinks
from bot.postback import Postback
from bot.riders import hold_until
from messages import approvals as text
from messages import chat, riders, vocabulary
from models.approvals import (
    DecisionError,
    DecisionResult,
    Pending,
    approvers_for,
    decidable_level,
    pending_for,
    planners_for,
    record_decision,
)
from models.messaging import ChatBinding, Conversation, SentMessage
from models.org import Person
from models.outbox import NEVER, RIDE_ONLY_RULE, queue_push
from models.overview import area_root, offices_under
from models.plan import Indicator, Project, ReportingPeriod
from models.reports import ApprovalDecision, EvidencePhoto, IndicatorResult, ProgressReport, ReportVersion
from models.types import DecisionChannel, DecisionOutcome, Role
from scheduler.deadlines import office_rules
from scheduler.fiscal import FiscalQuarter
from scheduler.rules import Delivery, Rules

BANGKOK = ZoneInfo("Asia/Bangkok")
RETURN_REASON_FORM = "return_reason"
CARD_PURPOSE = "approval_card"
# A return waiting for its reason is forgotten after this long, so a text typed days later is not
# taken as the reason.
REASON_WAIT = timedelta(hours=1)


# --- cards -----------------------------------------------------------------------------------------


def _quarter(session: Session, report: ProgressReport) -> FiscalQuarter | None:
    period = session.get(ReportingPeriod, report.period_id)
    return FiscalQuarter(period.fiscal_year, period.quarter) if period else None


def card_data(
    session: Session,
    report: ProgressReport,
    version: ReportVersion,
    level: int,
    *,
    links: MediaLinks | None = None,
    on: date | None = None,
    decidable: bool = True,
) -> text.CardData:
    project = session.get(Project, report.project_id)
    assert project is not None
    reporter = session.get(Person, version.submitted_by_id) if version.submitted_by_id else None
    results = {
        r.indicator_id: r.value
        for r in session.exec(select(IndicatorResult).where(IndicatorResult.version_id == version.id))
    }
    indicators = session.exec(
        select(Indicator)
        .where(Indicator.project_id == project.id)
        .order_by(Indicator.position, Indicator.code)
    )
    photos = session.exec(select(EvidencePhoto.id).where(EvidencePhoto.version_id == version.id)).all()
    return text.CardData(
        report_id=report.id or 0,
        version=version.version,
        project_code=project.code,
        project_name=project.name,
        quarter=_quarter(session, report),
        reporter=reporter.full_name if reporter else "-",
        implementation_status=str(version.implementation_status),
        status_reason=version.status_reason,
        progress_pct=Decimal(str(version.progress_pct)),
        disbursed_satang=version.budget_disbursed_satang,
        budget_satang=project.budget_satang,
        indicators=tuple(
            text.IndicatorLine(
                i.name,
                i.unit,
                Decimal(str(i.target)) if i.target is not None else None,
                Decimal(str(results[i.id])) if results.get(i.id) is not None else None,
            )
            for i in indicators
        ),
        activities=version.activities,
        problems=version.problems,
        suggestions=version.suggestions,
        photos=len(photos),
        photos_url=links.photos_page(version.id or 0, on) if links and photos and on else None,
        level=level,
        decidable=decidable,
    )


def request_decision(
    session: Session,
    report: ProgressReport,
    version: ReportVersion,
    level: int,
    now,  # type: ignore[no-untyped-def]
    on: date,
    tz: ZoneInfo = BANGKOK,
    *,
    links: MediaLinks | None = None,
    hold: bool = False,
    delivery: Delivery | None = None,
) -> int:
    """Queue the approval card to everyone who may decide at `level`; returns how many were queued.

    The card is held for the approver's next free reply or their next daily message (which gathers
    all the cards of a day into one push), at the latest the next working day."""
    people = approvers_for(session, report, version, on) if level == 1 else planners_for(session, report)
    data = card_data(session, report, version, level, links=links, on=on)
    card = text.approval_card(data).to_dict()
    rider = riders.approval_rider(f"{data.project_code} {data.project_name}", data.quarter)
    queued = 0
    for person in people:
        if not person.line_user_id:
            continue
        row = queue_push(
            session,
            to=[person.line_user_id],
            messages=[card],
            dedupe_key=f"approval:{version.id}:L{level}:{person.id}",
            rule="approval_request",
            subject=f"report_version:{version.id}",
            now=now,
            purpose=CARD_PURPOSE,
            ref_type="report_version",
            ref_id=version.id,
            person_ids=[person.id or 0],
            hold_until=hold_until(now, tz, delivery) if hold else None,
            rider=rider if hold else None,
        )
        queued += row is not None
    return queued


def on_submitted(ctx: EventContext, report: ProgressReport, version: ReportVersion) -> None:
    """After a report version is submitted: ask for a decision; when nobody can decide, say so at once."""
    if not approvers_for(ctx.session, report, version, _today(ctx)):
        tell_planning_stuck(ctx.session, report, version, ctx.now, ctx.rules)
        return
    request_decision(
        ctx.session,
        report,
        version,
        1,
        ctx.now,
        _today(ctx),
        ctx.tz,
        links=ctx.media_links,
        hold=ctx.hold_for_replies,
        delivery=_delivery(ctx),
    )


def tell_planning_stuck(
    session: Session,
    report: ProgressReport,
    version: ReportVersion,
    now: datetime,
    rules: Rules | None = None,
) -> int:
    """A report nobody can approve (its owner is its approver, with no level above): tell the area's
    planning group now, so it does not wait unseen, the way the daily tick reaches it: the area's
    bound LINE group(s) when there are any; else, by the area's ``[planning] push_to`` ("head"), a
    push to its head(s) of monitoring and the same line riding on the other planners' next free reply
    today (the weekly digest lists the report again); no reachable head, or ``push_to = "all"``: a
    push to each planner. Returns how many rows were queued."""
    project = session.get(Project, report.project_id)
    reporter = session.get(Person, version.submitted_by_id) if version.submitted_by_id else None
    if project is None:
        return 0
    name, quarter = f"{project.code} {project.name}", _quarter(session, report)
    notice = text.report_stuck(name, quarter, reporter.full_name if reporter else "-").to_dict()
    root = area_root(session, project.office_id)
    chats: list[str] = []
    if root is not None and root.id is not None:
        offices = list(offices_under(session, root.id))
        chats = list(
            session.exec(
                select(ChatBinding.chat_id)
                .where(col(ChatBinding.office_id).in_(offices), col(ChatBinding.active).is_(True))
                .order_by(col(ChatBinding.id))
            )
        )
    pushed: list[tuple[str, list[int]]] = [(chat_id, []) for chat_id in chats]
    riding: list[Person] = []
    if not chats:
        planners = [p for p in planners_for(session, report) if p.line_user_id]
        heads = [p for p in planners if p.has_role(Role.MONITORING_HEAD)]
        push_to = (
            office_rules(session, rules or Rules(), root.id).planning.push_to if root and root.id else "head"
        )
        if heads and push_to == "head":
            pushed = [(p.line_user_id or "", [p.id or 0]) for p in heads]
            riding = [p for p in planners if p not in heads]
        else:
            pushed = [(p.line_user_id or "", [p.id or 0]) for p in planners]
    queued = 0
    for to, person_ids in pushed:
        row = queue_push(
            session,
            to=[to],
            messages=[notice],
            dedupe_key=f"stuck:{version.id}:{to}",
            rule="approval_stuck",
            subject=f"report_version:{version.id}",
            now=now,
            purpose="approval_stuck",
            ref_type="report_version",
            ref_id=version.id,
            person_ids=person_ids,
        )
        queued += row is not None
    rider = riders.stuck_rider(name, quarter)
    for person in riding:  # never pushed: rides on a free reply until the next tick removes it
        row = queue_push(
            session,
            to=[person.line_user_id or ""],
            messages=[notice],
            dedupe_key=f"stuck:{version.id}:{person.line_user_id}",
            rule=RIDE_ONLY_RULE,
            subject=f"report_version:{version.id}",
            now=now,
            purpose="approval_stuck",
            ref_type="report_version",
            ref_id=version.id,
            person_ids=[person.id or 0],
            hold_until=NEVER,
            rider=rider,
        )
        queued += row is not None
    return queued


def today(ctx: EventContext) -> date:
    """The office's date of the event."""
    return ctx.now.astimezone(ctx.tz).date()


_today = today


def _delivery(ctx: EventContext) -> Delivery | None:
    """The configured tick time (``TIDTAM_TICK_TIME``): held rows are released after it."""
    return ctx.rules.delivery if ctx.rules is not None else None


# --- deciding --------------------------------------------------------------------------------------


def decide(
    ctx: EventContext,
    report_id: int,
    version: int,
    outcome: DecisionOutcome,
    channel: DecisionChannel,
    reason: str = "",
) -> DecisionResult:
    """Record a decision from the person in `ctx` and answer them; tell the reporter the outcome."""
    assert ctx.person is not None
    result = record_decision(
        ctx.session,
        report_id=report_id,
        version=version,
        person=ctx.person,
        outcome=outcome,
        channel=channel,
        now=ctx.now,
        on=_today(ctx),
        reason=reason,
        levels=ctx.approval_levels,
    )
    report = ctx.session.get(ProgressReport, report_id)
    if result.ok and result.decision is not None and report is not None:
        _after_decision(ctx, report, result)
        return result
    if result.error is DecisionError.NEEDS_REASON and report is not None:
        _ask_reason(ctx, report, version, channel)
    else:
        _refusal(ctx, result, report)
    return result


def _label(session: Session, report: ProgressReport) -> str:
    project = session.get(Project, report.project_id)
    return f"{project.code} {project.name}" if project else ""


def _after_decision(ctx: EventContext, report: ProgressReport, result: DecisionResult) -> None:
    decision = result.decision
    assert decision is not None and ctx.person is not None
    label, quarter = _label(ctx.session, report), _quarter(ctx.session, report)
    if decision.outcome == DecisionOutcome.APPROVED:
        ctx.reply(text.approved_ok(label, quarter, result.final))
    else:
        ctx.reply(text.returned_ok(label, quarter))
    version = ctx.session.get(ReportVersion, decision.version_id)
    if not result.final and version is not None:
        request_decision(
            ctx.session,
            report,
            version,
            decision.level + 1,
            ctx.now,
            _today(ctx),
            ctx.tz,
            links=ctx.media_links,
            hold=ctx.hold_for_replies,
            delivery=_delivery(ctx),
        )
        return
    reporter = (
        ctx.session.get(Person, version.submitted_by_id) if version and version.submitted_by_id else None
    )
    if reporter is None or not reporter.line_user_id:
        return
    if decision.outcome == DecisionOutcome.APPROVED:
        message = text.report_approved(label, quarter, ctx.person.full_name)
        rider = riders.approved_rider(label, quarter)
    else:
        message = text.report_returned(label, quarter, ctx.person.full_name, decision.reason, report.id or 0)
        rider = riders.returned_rider(label, quarter, decision.reason)
    _push_decision_notice(
        ctx, reporter, message, f"decision:{decision.id}", f"report:{report.id}", decision.id, rider
    )


def _push_decision_notice(
    ctx: EventContext,
    reporter: Person,
    message: Any,
    dedupe_key: str,
    subject: str,
    decision_id: int | None,
    rider: str,
) -> None:
    """Queue the notice that tells a reporter the outcome of one or more decisions: held for their
    next free reply or their next daily message (one push for a day's outcomes)."""
    assert reporter.line_user_id
    queue_push(
        ctx.session,
        to=[reporter.line_user_id],
        messages=[message.to_dict()],
        dedupe_key=dedupe_key,
        rule="decision_notice",
        subject=subject,
        now=ctx.now,
        purpose="decision_notice",
        ref_type="approval_decision",
        ref_id=decision_id,
        person_ids=[reporter.id or 0],
        hold_until=hold_until(ctx.now, ctx.tz, _delivery(ctx)) if ctx.hold_for_replies else None,
        rider=rider if ctx.hold_for_replies else None,
    )


def _refusal(ctx: EventContext, result: DecisionResult, report: ProgressReport | None) -> None:
    error = result.error
    if error is DecisionError.ALREADY_DECIDED and result.existing is not None:
        who = ctx.session.get(Person, result.existing.decided_by_id)
        ctx.reply(
            text.already_decided(
                who.full_name if who else "-",
                str(result.existing.outcome),
                result.existing.decided_at,
                ctx.tz,
            )
        )
    elif error is DecisionError.STALE_VERSION and report is not None and result.current_version:
        ctx.reply(text.stale_version(result.current_version))
        assert ctx.person is not None
        now_decidable = decidable_level(ctx.session, ctx.person, report, _today(ctx), ctx.approval_levels)
        if now_decidable is not None:
            version, level = now_decidable
            ctx.reply(
                text.approval_card(
                    card_data(ctx.session, report, version, level, links=ctx.media_links, on=_today(ctx))
                )
            )
        else:
            ctx.reply(text.not_pending())
    elif error is DecisionError.OWN_REPORT:
        ctx.reply(text.own_report())
    elif error is DecisionError.NOT_ALLOWED:
        ctx.reply(text.not_allowed())
    else:
        ctx.reply(text.not_pending())


def _ask_reason(ctx: EventContext, report: ProgressReport, version: int, channel: DecisionChannel) -> None:
    assert ctx.user_id is not None
    existing = ctx.conversation()
    data: dict[str, Any] = {
        "form": RETURN_REASON_FORM,
        "mode": "reason",
        "report": report.id,
        "version": version,
        "channel": channel.value,
        "asked_at": ctx.now.isoformat(),
    }
    ctx.reply(text.ask_reason(_label(ctx.session, report)))
    if existing is not None and existing.form != RETURN_REASON_FORM:
        # In the middle of their own report: keep it; the reason can come with a quote-reply instead.
        data["resume"] = existing.form
        conversations.annotate(ctx, existing, "pending_return", data)
        return
    conversations.save(ctx, existing, RETURN_REASON_FORM, data)


def pending_return(ctx: EventContext) -> tuple[Conversation, dict[str, object]] | None:
    """The return waiting for its reason, if the person's next text is that reason."""
    if ctx.user_id is None:
        return None
    conversation = ctx.conversation()
    if conversation is None:
        return None
    if conversation.form == RETURN_REASON_FORM:
        found = conversation.data
    else:
        pending = conversation.data.get("pending_return")
        if not isinstance(pending, dict):
            return None
        found = pending
    if _expired(found, ctx.now):
        _forget_return(ctx, conversation)
        return None
    return conversation, found


def _expired(data: dict[str, object], now: datetime) -> bool:
    asked = data.get("asked_at")
    if not isinstance(asked, str):
        return True
    try:
        return now - datetime.fromisoformat(asked) > REASON_WAIT
    except ValueError:
        return True


def _forget_return(ctx: EventContext, conversation: Conversation) -> None:
    if conversation.form == RETURN_REASON_FORM:
        conversations.save(ctx, conversation, RETURN_REASON_FORM, None)
    else:
        conversations.annotate(ctx, conversation, "pending_return", None)


def on_reason_text(
    ctx: EventContext, conversation: Conversation, data: dict[str, object], typed: str
) -> None:
    _forget_return(ctx, conversation)
    if intents.match(typed, (Intent.CANCEL,)):
        ctx.reply(text.return_cancelled())
        return
    if intents.match(typed, intents.MENU):
        # Exactly a menu word ("สถานะ", "รายงานผล", "รออนุมัติ"...): the director moved on; not a reason.
        ctx.reply(text.return_cancelled())
        from bot import handlers  # imported late: handlers routes texts to this module

        handlers.on_private_text(ctx, typed)
        return
    report_id, version = int(data["report"]), int(data["version"])  # type: ignore[call-overload]
    channel = DecisionChannel(str(data.get("channel", DecisionChannel.BUTTON.value)))
    if intents.is_plain_approval(typed):
        # "อนุมัติ" is not a reason: the director changed their mind.
        decide(ctx, report_id, version, DecisionOutcome.APPROVED, channel)
        return
    decide(ctx, report_id, version, DecisionOutcome.RETURNED, channel, typed.strip())


def on_decision_button(ctx: EventContext, postback: Postback) -> None:
    """`v1|ap|r=<report>|n=<version>|d=a|r` from an approval card."""
    report_id, version, choice = postback.int_param("r"), postback.int_param("n"), postback.params.get("d")
    if ctx.person is None or report_id is None or version is None or choice not in ("a", "r"):
        ctx.reply(chat.unknown_button())
        return
    outcome = DecisionOutcome.APPROVED if choice == "a" else DecisionOutcome.RETURNED
    decide(ctx, report_id, version, outcome, DecisionChannel.BUTTON)


# --- text: quote-replies, "อนุมัติ", "ส่งกลับ …", "อนุมัติทั้งหมด" ---------------------------------------


def on_quote_reply(ctx: EventContext, quoted_message_id: str, typed: str) -> bool:
    """A reply quoting one of our approval cards; False when the quoted message is not a card."""
    sent = ctx.session.exec(
        select(SentMessage).where(SentMessage.line_message_id == quoted_message_id)
    ).first()
    if sent is None or sent.purpose != CARD_PURPOSE or sent.ref_id is None:
        return False
    version = ctx.session.get(ReportVersion, sent.ref_id)
    if version is None:
        return False
    if intents.is_plain_approval(typed):
        decide(ctx, version.report_id, version.version, DecisionOutcome.APPROVED, DecisionChannel.QUOTE_REPLY)
        return True
    returned = intents.leading(typed, (Intent.RETURN,))
    if returned is not None:
        decide(
            ctx,
            version.report_id,
            version.version,
            DecisionOutcome.RETURNED,
            DecisionChannel.QUOTE_REPLY,
            returned[1],
        )
        return True
    if intents.match(typed, intents.MENU) is not None:
        return False  # a menu word while quoting a card: the command, not a decision
    # Neither: offer both, for this card's version.
    ctx.reply(
        text.approve_or_return(_label(ctx.session, _report(ctx, version)), version.report_id, version.version)
    )
    return True


def _report(ctx: EventContext, version: ReportVersion) -> ProgressReport:
    report = ctx.session.get(ProgressReport, version.report_id)
    assert report is not None
    return report


def pending_lines(session: Session, items: list[Pending]) -> list[text.PendingLine]:
    lines = []
    for p in items:
        reporter = session.get(Person, p.version.submitted_by_id) if p.version.submitted_by_id else None
        lines.append(
            text.PendingLine(
                p.project.code,
                p.project.name,
                _quarter(session, p.report),
                reporter.full_name if reporter else "",
            )
        )
    return lines


def _pending_list(ctx: EventContext, items: list[Pending], *, asked: str = "") -> Any:
    """The numbered pending list; with several, the quick reply that opens the tap-to-select card."""
    return text.pending_list(pending_lines(ctx.session, items), asked=asked, select=asked != "return")


def _fingerprint(items: list[Pending]) -> str:
    key = ",".join(
        f"{p.report.id}:{p.version.version}" for p in sorted(items, key=lambda p: p.report.id or 0)
    )
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def on_text(ctx: EventContext, typed: str) -> bool:
    """Plain-text decisions; False when the text is not about approvals."""
    if ctx.person is None:
        return False
    menu = intents.match(typed, (Intent.APPROVE_ALL, Intent.APPROVE_CHOSEN, Intent.PENDING))
    if menu is not None:
        return on_menu(ctx, menu)
    found = intents.leading(typed, intents.DECISION, quoting=False)
    if found is None:
        return False
    is_approve = found[0] is Intent.APPROVE
    rest = reason = found[1]
    items = pending_for(ctx.session, ctx.person, _today(ctx), ctx.approval_levels)
    if not items:
        ctx.reply(text.nothing_pending())
        return True
    chosen = _chosen(items, rest) if is_approve else []
    if len(chosen) > 1:
        # "อนุมัติ P001 P003" or "อนุมัติ 1, 3": several chosen at once.
        approve_many(ctx, chosen)
        return True
    target, remainder = (chosen[0], "") if chosen else _target(items, rest if is_approve else reason)
    if target is None and len(items) == 1:
        target, remainder = items[0], (rest if is_approve else reason)
    if target is None:
        ctx.reply(_pending_list(ctx, items, asked="approve" if is_approve else "return"))
        return True
    outcome = DecisionOutcome.APPROVED if is_approve else DecisionOutcome.RETURNED
    decide(
        ctx,
        target.report.id or 0,
        target.version.version,
        outcome,
        DecisionChannel.TEXT,
        "" if is_approve else remainder,
    )
    return True


def on_menu(ctx: EventContext, command: Intent, typed: str = "") -> bool:
    """The approver's menu commands; False when `command` is not one of them."""
    assert ctx.person is not None
    if command is Intent.APPROVE_ALL:
        items = pending_for(ctx.session, ctx.person, _today(ctx), ctx.approval_levels)
        if not items:
            ctx.reply(text.nothing_pending())
        else:
            ctx.reply(text.confirm_approve_all(len(items), f"v1|apall|h={_fingerprint(items)}"))
        return True
    if command is Intent.APPROVE_CHOSEN:  # the choose-to-approve word: the tap-to-select card
        from bot import approval_selection

        approval_selection.open_card(ctx)
        return True
    if command is Intent.PENDING:
        items = pending_for(ctx.session, ctx.person, _today(ctx), ctx.approval_levels)
        ctx.reply(_pending_list(ctx, items) if items else text.nothing_pending())
        return True
    return False


def _chosen(items: list[Pending], rest: str) -> list[Pending]:
    """The pending reports named in `rest` by project code or by their number in the pending list."""
    by_code = {item.project.code.upper(): item for item in items}
    chosen: list[Pending] = []
    for separator in vocabulary.LIST_SEPARATORS:
        rest = rest.replace(separator, " ")
    for word in rest.split():
        item = by_code.get(word.upper())
        number = intents.normalize(word)
        if item is None and number.isdigit() and 1 <= int(number) <= len(items):
            item = items[int(number) - 1]
        if item is not None and item not in chosen:
            chosen.append(item)
    return chosen


def _target(items: list[Pending], rest: str) -> tuple[Pending | None, str]:
    """A pending report named by its project code at the start of `rest`, and what follows it."""
    words = rest.split(maxsplit=1)
    if not words:
        return None, rest
    code = words[0].upper()
    for item in items:
        if item.project.code.upper() == code:
            return item, words[1] if len(words) > 1 else ""
    return None, rest


def on_approve_all(ctx: EventContext, postback: Postback) -> None:
    """`v1|apall|h=<fingerprint>`: approve every pending report listed in the confirmation."""
    if ctx.person is None:
        ctx.reply(chat.unknown_button())
        return
    items = pending_for(ctx.session, ctx.person, _today(ctx), ctx.approval_levels)
    if not items or _fingerprint(items) != postback.params.get("h"):
        ctx.reply(text.pending_changed())
        if items:
            ctx.reply(_pending_list(ctx, items))
        return
    approve_many(ctx, items)


def approve_many(ctx: EventContext, items: list[Pending]) -> None:
    """Approve each of `items` (each checked by the rules), answer once, tell each reporter once."""
    assert ctx.person is not None
    approved = skipped = 0
    notices: dict[int, tuple[Person, list[tuple[ProgressReport, ApprovalDecision]]]] = {}
    for item in items:
        result = record_decision(
            ctx.session,
            report_id=item.report.id or 0,
            version=item.version.version,
            person=ctx.person,
            outcome=DecisionOutcome.APPROVED,
            channel=DecisionChannel.BULK,
            now=ctx.now,
            on=_today(ctx),
            levels=ctx.approval_levels,
        )
        if not result.ok or result.decision is None:
            skipped += 1
            continue
        approved += 1
        if not result.final:
            request_decision(
                ctx.session,
                item.report,
                item.version,
                result.decision.level + 1,
                ctx.now,
                _today(ctx),
                ctx.tz,
                links=ctx.media_links,
                hold=ctx.hold_for_replies,
                delivery=_delivery(ctx),
            )
            continue
        reporter = (
            ctx.session.get(Person, item.version.submitted_by_id) if item.version.submitted_by_id else None
        )
        if reporter is not None and reporter.line_user_id:
            notices.setdefault(reporter.id or 0, (reporter, []))[1].append((item.report, result.decision))
    ctx.reply(text.approved_all(approved, skipped))
    # One push per reporter, whatever the number of their reports: every push costs quota.
    for reporter, decided in notices.values():
        _notify_approved_together(ctx, reporter, decided)


def _notify_approved_together(
    ctx: EventContext, reporter: Person, decided: list[tuple[ProgressReport, ApprovalDecision]]
) -> None:
    assert ctx.person is not None and reporter.line_user_id
    if len(decided) == 1:
        report = decided[0][0]
        message = text.report_approved(
            _label(ctx.session, report), _quarter(ctx.session, report), ctx.person.full_name
        )
    else:
        lines = [(_label(ctx.session, report), _quarter(ctx.session, report)) for report, _ in decided]
        message = text.reports_approved(lines, ctx.person.full_name)
    ids = ",".join(str(decision.id) for _, decision in decided)
    dedupe_key = f"decisions:{hashlib.sha256(ids.encode()).hexdigest()[:32]}"
    rider = "\n".join(
        riders.approved_rider(_label(ctx.session, report), _quarter(ctx.session, report))
        for report, _ in decided
    )
    _push_decision_notice(
        ctx, reporter, message, dedupe_key, f"person:{reporter.id}", decided[0][1].id, rider
    )
