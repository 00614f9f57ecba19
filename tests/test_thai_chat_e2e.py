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
