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
