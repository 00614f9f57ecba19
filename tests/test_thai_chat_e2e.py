"""Thai chat through the webhook: polite particles, spacing, the Thai keyboard layout, menus by role.

Real HTTP into /callback and out to the fake LINE platform, on both backends, on the pinned office
clock (the approvals end-to-end harness).
"""

from __future__ import annotations

import test_approvals_e2e as harness
from approval_office import decisions, link, make_office
from sqlmodel import Session, select
from support import link_code_for

from models.org import Person
from models.reports import ReportVersion

# The approvals harness: a running service and the office, its people linked to these LINE accounts.
make_bot = harness.make_bot
office = harness.office
pytestmark = harness.pytestmark
T, D, PL = harness.T, harness.D, harness.PL
U = "U" + "9" * 32  # a LINE account not yet linked


def _only_version(engine) -> ReportVersion:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        [version] = s.exec(select(ReportVersion)).all()
        return version


def test_polite_commands_in_a_form_are_commands_never_answers(engine, make_bot, office_clock) -> None:
    office = make_office(engine, today=office_clock.today, projects=1)
    link(engine, office.teacher, T)
    bot = make_bot()
    for typed in ["รายงานผลค่ะ", "2", "50", "1000", "40"]:
        bot.say(T, typed)
    asked = bot.say(T, "ยกเลิกค่ะ")  # at the activities question (a text field)
    assert any("ยกเลิก" in line and "ร่าง" in line for line in asked), asked
    assert "กิจกรรม" in bot.say(T, "ไม่ค่ะ")[-1]  # not cancelled: the question again
    assert "กิจกรรม" in bot.say(T, "อนุมัติครับ")[-1]  # a word of the bot, never an answer
    bot.say(T, "อบรมครู 3 ครั้ง")
    bot.say(T, "ข้ามค่ะ")  # problems
    bot.say(T, "ไม่มี ครับ")  # suggestions
    bot.say(T, "เสร็จแล้วค่ะ")  # photos
    assert "ส่ง" in bot.say(T, "ยืนยันส่ง นะคะ")[-1]
    version = _only_version(engine)
    assert (version.activities, version.problems, version.suggestions) == ("อบรมครู 3 ครั้ง", "", "")


def test_a_return_reason_after_a_polite_particle_reaches_the_teacher_without_it(
    engine, office, make_bot
) -> None:
    report_id, _ = harness._submitted(engine, office, office.projects[0])
    bot = make_bot()
    [card] = bot.cards(D, 1)
    quoted = card.sent_message_ids[0]
    answer = bot.say(D, "ส่งกลับค่ะ ขอรูปเพิ่ม", quoting=quoted)
    assert answer[0].startswith("ส่งกลับรายงาน")
    [decision] = decisions(engine)
    assert (decision.report_id, decision.reason) == (report_id, "ขอรูปเพิ่ม")
    [notice] = [p for p in bot.pushes(T, 1) if "ขอรูปเพิ่ม" in str(p.messages)]
    assert "ค่ะ ขอรูปเพิ่ม" not in str(notice.messages)


def test_a_link_code_typed_with_the_thai_keyboard_layout_links(engine, office, make_bot, fake_line) -> None:
    with Session(engine) as s:
        person = s.exec(select(Person).where(Person.id == office.teacher2.id)).one()
        person.line_user_id = None
        s.add(person)
        s.commit()
    code = link_code_for(engine, person=office.teacher2).replace("-", "")
    thai_keys = dict(zip("ABCDEFGHJKMNPQRSTUVWXYZ23456789", "ฟิแกำดเ้่าทืยๆพหะีอไปัผ/-ภถุึคต", strict=True))
    typed = "".join(thai_keys[ch] for ch in code)
    bot = make_bot()
    assert "ลงทะเบียนสำเร็จ" in bot.say(U, typed)[0]
    with Session(engine) as s:
        assert s.get(Person, office.teacher2.id).line_user_id == U  # type: ignore[union-attr]


# --- menus by role -----------------------------------------------------------------------------------


def _quick_labels(bot, user: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [a["label"] for a in harness._quick_replies(bot, user)]


def test_each_role_has_its_own_help_and_menu(engine, office, make_bot) -> None:
    bot = make_bot()
    teacher = bot.say(T, "ช่วยเหลือค่ะ")[0]
    assert teacher.startswith("เมนูสำหรับคุณใจดีค่ะ")  # คุณ + first name, without the title
    for command in ("รายงานผล", "สถานะ", "โครงการของฉัน", "ดูรายงาน", "ติดต่อเจ้าหน้าที่"):
        assert f"• {command} —" in teacher
    assert "รออนุมัติ" not in teacher and "ภาพรวมเขต" not in teacher
    assert _quick_labels(bot, T)[:5] == ["รายงานผล", "สถานะ", "โครงการของฉัน", "ดูรายงาน", "ติดต่อเจ้าหน้าที่"]

    director = bot.say(D, "เมนู")[0]
    assert director.startswith("เมนูสำหรับท่าน")
    for command in ("รออนุมัติ", "สถานะโรงเรียน", "รายงานผล"):  # he owns a project, so he reports too
        assert f"• {command} —" in director
    assert "รออนุมัติ" in _quick_labels(bot, D)

    planner = bot.say(PL, "help")[0]
    for command in ("ภาพรวมเขต", "ใครยังไม่ส่ง", "แดชบอร์ด"):
        assert f"• {command} —" in planner
    assert "รายงานผล" not in _quick_labels(bot, PL)


def test_a_director_sees_who_has_and_has_not_submitted(engine, office, make_bot) -> None:
    harness._submitted(engine, office, office.projects[0])
    bot = make_bot()
    answer = bot.say(D, "สถานะโรงเรียนค่ะ")[0]
    assert "ส่งแล้ว 1 จาก 3 โครงการ" in answer
    waiting, sent = answer.split("\nส่งแล้ว\n")
    assert office.projects[1].code in waiting and office.teacher.full_name in waiting
    assert office.own_project.code in waiting
    assert office.projects[0].code in sent and "รออนุมัติ" in sent


def test_an_area_director_without_projects_asking_status_gets_the_area_picture(
    engine, office, make_bot
) -> None:
    bot = make_bot()
    answer = bot.say(harness.AD, "สถานะ")[0]
    assert "ไม่พบโครงการ" not in answer and answer.startswith("ภาพรวมการรายงานผล")
    assert bot.say(harness.AD, "สถานะโรงเรียน")[0] == answer
    assert "ไม่มีโครงการที่ท่านเป็นผู้รับผิดชอบ" in bot.say(harness.AD, "โครงการของฉัน")[0]


def test_the_planning_group_sees_the_area_and_who_has_not_submitted(engine, office, make_bot) -> None:
    harness._submitted(engine, office, office.projects[0])
    bot = make_bot()
    overview = bot.say(PL, "ภาพรวมเขตค่ะ")[0]
    assert "ส่งแล้ว 1 จาก 3 โครงการ (ร้อยละ 33.3)" in overview
    assert "ส่งแล้ว รออนุมัติ 1 โครงการ" in overview and "ยังไม่รายงาน 2 โครงการ" in overview
    missing = bot.say(PL, "ใครยังไม่ส่ง")[0]
    assert "รวม 2 โครงการ" in missing
    assert office.projects[1].code in missing and office.projects[0].code not in missing
    assert office.teacher.full_name in missing
    assert bot.say(PL, "สถานะ")[0] == overview  # a planner with no projects: status is the area's
    assert bot.say(T, "ภาพรวมเขต")[0].startswith("เมนูสำหรับ")  # not a teacher's command: their menu


def test_a_bound_planning_group_answers_status_with_the_area_overview(
    engine, office, make_bot, fake_line
) -> None:
    from datetime import UTC, datetime

    from models.messaging import ChatBinding
    from models.types import ChatType

    bound, unbound = "C" + "1" * 32, "C" + "2" * 32
    with Session(engine) as s:
        s.add(
            ChatBinding(
                chat_id=bound,
                chat_type=ChatType.GROUP,
                office_id=office.seeded.planning.id,
                bound_at=datetime.now(UTC),
            )
        )
        s.commit()
    bot = make_bot()
    assert fake_line.send_sync(fake_line.group_text_event(unbound, PL, "สถานะ")).status_code == 200
    assert fake_line.send_sync(fake_line.group_text_event(bound, PL, "สถานะค่ะ")).status_code == 200
    [delivery] = bot._wait(lambda: fake_line.deliveries_to(bound))
    assert delivery.messages[0]["text"].startswith("ภาพรวมการรายงานผล")
    assert "ยังไม่รายงาน 3 โครงการ" in delivery.messages[0]["text"]
    assert fake_line.deliveries_to(unbound) == []  # an unknown group is shown nothing


# --- approvers see what they approve -----------------------------------------------------------------


def _flex_texts(node) -> list[str]:  # type: ignore[no-untyped-def]
    if isinstance(node, dict):
        found = [node["text"]] if node.get("type") == "text" and "text" in node else []
        return found + [t for v in node.values() for t in _flex_texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in _flex_texts(v)]
    return []


def _uris(node) -> list[str]:  # type: ignore[no-untyped-def]
    if isinstance(node, dict):
        found = [node["uri"]] if node.get("type") == "uri" else []
        return found + [u for v in node.values() for u in _uris(v)]
    if isinstance(node, list):
        return [u for v in node for u in _uris(v)]
    return []


def _send_image(bot, user: str, content: bytes) -> list[str]:  # type: ignore[no-untyped-def]
    before = len(bot.fake.deliveries_to(user))
    assert bot.fake.send_sync(bot.fake.image_event(user, content, "image/jpeg")).status_code == 200
    return bot.replies_after(user, before)


def test_the_card_shows_every_field_rounded_in_thai_order_with_the_photos(
    engine, make_bot, office_clock, fake_line
) -> None:
    import httpx
    from test_report_e2e import JPEG

    from models.plan import Indicator, Project
    from models.types import IndicatorKind

    office = make_office(engine, today=office_clock.today, projects=1)
    link(engine, office.teacher, T)
    link(engine, office.director, D)
    with Session(engine) as s:
        project = s.get(Project, office.projects[0].id)
        project.budget_satang = 2_400_000  # 24,000 baht: 7,000 of it is 29.1666…%
        s.add(project)
        s.add(Indicator(project_id=project.id, code="K9", name="ร้อยละนักเรียนที่ผ่านเกณฑ์", unit="ร้อยละ",
                        target=70, kind=IndicatorKind.OUTCOME, position=9))  # fmt: skip
        s.commit()
    bot = make_bot()
    for typed in ["รายงานผล", "2", "50", "7,000", "40 คน", "62.5%", "อบรมครู 3 ครั้ง", "งบมาช้า", "ควรเพิ่มงบ"]:
        bot.say(T, typed)
    _send_image(bot, T, JPEG)
    _send_image(bot, T, JPEG + b"\0")  # a second, different photo
    bot.say(T, "เสร็จ")
    bot.say(T, "ยืนยันส่ง")

    [card] = bot.cards(D, 1)
    texts = _flex_texts(card.messages[0]["contents"])
    joined = "\n".join(texts)
    assert "ร้อยละ 62.5 / เป้าหมาย ร้อยละ 70" in texts
    assert "40 คน / เป้าหมาย 100 คน" in texts
    assert "ร้อยละ 50" in texts  # progress
    assert any("(ร้อยละ 29.2)" in t for t in texts) and "29.16" not in joined
    for shown in ("อบรมครู 3 ครั้ง", "งบมาช้า", "ควรเพิ่มงบ", "2 รูป"):
        assert shown in texts, shown
    [uri] = _uris(card.messages[0]["contents"])
    base = fake_line.webhook_url.removesuffix("/callback")
    path = uri[uri.index("/media/") :]
    page = httpx.get(base + path)
    assert page.status_code == 200 and page.text.count("<img") == 2
    photo = page.text.split('src="')[1].split('"')[0].replace("&amp;", "&")
    assert httpx.get(base + photo).content == JPEG
    assert httpx.get(base + path.replace("t=", "t=0")).status_code == 404  # a tampered link opens nothing


def test_details_of_any_report_and_approving_a_chosen_few(engine, office, make_bot) -> None:
    from approval_office import add_projects, report_status

    extra = add_projects(engine, office, 1)
    first, _ = harness._submitted(engine, office, office.projects[0])
    second, _ = harness._submitted(engine, office, office.projects[1])
    third, _ = harness._submitted(engine, office, extra[0])
    bot = make_bot()
    bot.cards(D, 3)
    code = office.projects[0].code

    before = len(bot.fake.deliveries_to(D))
    assert bot.say(D, f"ดูรายละเอียด {code.lower()} ค่ะ")[0].startswith(f"ขอความเห็นชอบรายงานผล: {code}")
    [shown] = [m for d in bot.fake.deliveries_to(D)[before:] for m in d.messages if m["type"] == "flex"]
    assert "footer" in shown["contents"]  # he may decide: the buttons come with it
    assert bot.say(T, f"ดูรายละเอียด {code}")[0].startswith(f"รายละเอียดรายงานผล: {code}")  # the owner reads
    assert bot.say(harness.T2, f"ดูรายละเอียด {code}")[0].startswith("ยังไม่มีรายงานที่เปิดดูได้")  # not his

    answer = bot.say(D, f"อนุมัติ {code} {extra[0].code} ครับ")
    assert answer[0].startswith("อนุมัติแล้ว 2 รายการ")
    assert (report_status(engine, first), report_status(engine, second), report_status(engine, third)) == (
        "approved",
        "submitted",
        "approved",
    )


def test_a_reporter_sees_the_reports_sent_this_year(engine, office, make_bot) -> None:
    harness._submitted(engine, office, office.projects[0])
    bot = make_bot()
    listed = bot.say(T, "ดูรายงานค่ะ")[0]
    assert listed.startswith("รายงานที่ส่งแล้ว 1 รายการ") and office.projects[0].code in listed
    [button] = _quick_labels(bot, T)
    assert button.startswith(office.projects[0].code)


# --- no stuck reports --------------------------------------------------------------------------------


def test_a_report_nobody_can_approve_is_told_to_the_planning_group_at_once(
    engine, office, make_bot, fake_line
) -> None:
    from datetime import UTC, datetime

    from models.plan import Indicator, Project, ProjectOwner
    from models.types import IndicatorKind

    with Session(engine) as s:  # the area director's own project: he approves it, and nobody is above him
        now = datetime.now(UTC)
        project = Project(code="AREA-1", fiscal_year=office.seeded.fiscal_year, name="โครงการของเขต",
                          office_id=office.seeded.office.id, approver_id=office.area_director.id,
                          budget_satang=1_000_000, created_at=now, updated_at=now)  # fmt: skip
        s.add(project)
        s.flush()
        s.add(ProjectOwner(project_id=project.id, person_id=office.area_director.id))
        s.add(Indicator(project_id=project.id, code="K1", name="โรงเรียนที่ได้รับการนิเทศ", unit="โรง",
                        target=10, kind=IndicatorKind.OUTPUT))  # fmt: skip
        s.commit()
    bot = make_bot()
    AD = harness.AD
    for typed in ["รายงานผล", "2", "50", "1000", "4", "นิเทศ 4 โรง", "ข้าม", "ข้าม", "เสร็จ"]:
        bot.say(AD, typed)
    answer = bot.say(AD, "ยืนยันส่ง")[-1]
    assert "ยังไม่มีผู้อนุมัติรายงานนี้" in answer and "แจ้งกลุ่มนโยบายและแผนแล้ว" in answer
    assert "ส่งให้" not in answer  # not told it went to himself
    [notice] = bot.pushes(PL, 1)
    assert "AREA-1" in notice.messages[0]["text"] and "ไม่มีผู้อนุมัติ" in notice.messages[0]["text"]
    assert not [d for d in fake_line.deliveries_to(AD) if d.kind == "push"]  # no card to himself


# --- the form, for real people ------------------------------------------------------------------------


def test_cancel_with_nothing_entered_needs_no_confirmation_and_leaves_no_draft(
    engine, make_bot, office_clock
) -> None:
    from models.reports import ProgressReport

    office = make_office(engine, today=office_clock.today, projects=1)
    link(engine, office.teacher, T)
    bot = make_bot()
    assert "สถานะการดำเนินงาน" in bot.say(T, "รายงานผล")[-1]
    assert bot.say(T, "ยกเลิกค่ะ")[-1].startswith("ยกเลิกแล้วค่ะ พิมพ์")
    with Session(engine) as s:
        assert not [r for r in s.exec(select(ProgressReport)) if r.draft]
    assert "สถานะการรายงานผล" in bot.say(T, "สถานะ")[0]  # out of the form


def test_a_project_not_started_is_not_asked_for_activities_or_results(engine, make_bot, office_clock) -> None:
    office = make_office(engine, today=office_clock.today, projects=1)
    link(engine, office.teacher, T)
    bot = make_bot()
    bot.say(T, "รายงานผล")
    assert "เบิกจ่าย" in bot.say(T, "1")[-1]  # not started: no progress question
    assert "ปัญหาอุปสรรค" in bot.say(T, "0")[-1]  # no indicator results, no activities
    bot.say(T, "รอโอนงบประมาณ")
    bot.say(T, "ข้าม")
    bot.say(T, "เสร็จ")
    assert "ส่งให้" in bot.say(T, "ยืนยันส่ง")[-1]
    version = _only_version(engine)
    assert (version.implementation_status, version.activities, version.problems) == (
        "not_started",
        "",
        "รอโอนงบประมาณ",
    )


def test_one_deadline_everywhere_the_one_reminders_use(engine, office, make_bot, office_clock) -> None:
    from messages.thai_dates import format_date
    from models.projects import open_period
    from scheduler.deadlines import due_date
    from scheduler.rules import load_rules
    from scheduler.workdays import WorkCalendar

    with Session(engine) as s:
        period = open_period(s, office_clock.today)
        assert period is not None
        stored, ends_on = period.due_on, period.ends_on
    reminded = due_date(ends_on, load_rules(), WorkCalendar())  # what the planner's reminders say
    assert reminded != stored  # the stored date falls on a day off: the case that used to disagree
    bot = make_bot()
    status = bot.say(T, "สถานะ")[0]
    assert f"กำหนดส่ง {format_date(reminded)}" in status and format_date(stored) not in status
    bot.say(T, "รายงานผล")
    first = bot.say(T, "1")[-1]  # the first project: its first question names the quarter and deadline
    assert f"กำหนดส่ง {format_date(reminded)}" in first and "(ต.ค.–ธ.ค. 2569)" in first
    assert f"กำหนดส่ง {format_date(reminded)}" in bot.say(PL, "ภาพรวมเขต")[0]


def test_an_acting_director_gets_the_director_menu_on_the_acting_days_only(
    engine, office, make_bot, office_clock
) -> None:
    from datetime import UTC, datetime, timedelta

    from models.org import ActingApprover

    with Session(engine) as s:  # a teacher acts for the director today only
        s.add(ActingApprover(principal_id=office.director.id, acting_id=office.teacher2.id,
                             starts_on=office_clock.today, ends_on=office_clock.today,
                             created_at=datetime.now(UTC)))  # fmt: skip
        s.commit()
    bot = make_bot()
    acting = bot.say(harness.T2, "เมนูค่ะ")[0]
    assert acting.startswith("เมนูสำหรับท่าน") and "• รออนุมัติ —" in acting
    with Session(engine) as s:
        row = s.exec(select(ActingApprover)).one()
        row.starts_on = row.ends_on = office_clock.today - timedelta(days=1)
        s.add(row)
        s.commit()
    after = bot.say(harness.T2, "เมนูค่ะ")[0]
    assert after.startswith("เมนูสำหรับคุณครู") and "รออนุมัติ" not in after
