"""The intents module: normalisation, the vocabulary table, link codes, and the property that no command
word, with any polite particle or spacing, is ever taken as a form's answer."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import intents
from bot.forms import engine
from bot.forms.engine import CommandInput, TextInput
from bot.forms.runtime import form_input
from bot.forms.spec import Field, Form, Kind
from bot.intents import Intent
from messages import vocabulary
from models.linking import normalize_code

# --- normalisation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "normal"),
    [
        ("ยกเลิกค่ะ", "ยกเลิก"),
        (" ยกเลิก  นะคะ ", "ยกเลิก"),
        ("ข้ามครับผม", "ข้าม"),
        ("OK ค่ะ!", "ok"),
        ("ยืนยัน\u200bส่ง\u200b", "ยืนยันส่ง"),
        ("ยกเลิกค่าาาา", "ยกเลิก"),
        ("๕๐", "50"),
        ("เสร็จแล้วจ้า", "เสร็จแล้ว"),
        ("ค่ะ", "ค่ะ"),  # a particle alone is kept: never normalised to nothing
        ("?", "?"),
        ("ผู้รับเหมาทิ้งงาน", "ผู้รับเหมาทิ้งงาน"),
    ],
)
def test_normalize(typed: str, normal: str) -> None:
    assert intents.normalize(typed) == normal


# --- the vocabulary, as a table ----------------------------------------------------------------------

# (what a person types, the intents that apply where they type it, what it means there)
TABLE = [
    ("ยกเลิกค่ะ", intents.FORM, Intent.CANCEL),
    ("ข้ามค่ะ", intents.FORM, Intent.SKIP),
    ("ย้อนกลับค่ะ", intents.FORM, Intent.BACK),
    ("เสร็จแล้วค่ะ", intents.FORM, Intent.DONE),
    ("ยืนยันส่งค่ะ", intents.FORM, Intent.SUBMIT),
    ("แก้ไขนะคะ", intents.FORM, Intent.EDIT),
    ("ยืนยันค่ะ", intents.CONFIRM, Intent.YES),
    ("ไม่ใช่ครับ", intents.CONFIRM, Intent.NO),
    ("เห็นชอบครับ", intents.DECISION, Intent.APPROVE),
    ("โอเคค่ะ", intents.DECISION, Intent.APPROVE),
    ("ok", intents.DECISION, Intent.APPROVE),
    ("ไม่ผ่านค่ะ", intents.DECISION, Intent.RETURN),
    ("รายงานผลค่ะ", intents.MENU, Intent.REPORT),
    ("สถานะครับ", intents.MENU, Intent.STATUS),
    ("โครงการของฉันค่ะ", intents.MENU, Intent.MY_PROJECTS),
    ("รออนุมัติค่ะ", intents.MENU, Intent.PENDING),
    ("อนุมัติทั้งหมดครับ", intents.MENU, Intent.APPROVE_ALL),
    ("สถานะโรงเรียนค่ะ", intents.MENU, Intent.SCHOOL_STATUS),
    ("ภาพรวมเขตค่ะ", intents.MENU, Intent.AREA_OVERVIEW),
    ("ใครยังไม่ส่งคะ", intents.MENU, Intent.NOT_SUBMITTED),
    ("แดชบอร์ดค่ะ", intents.MENU, Intent.DASHBOARD),
    ("ติดต่อเจ้าหน้าที่ค่ะ", intents.MENU, Intent.CONTACT),
    ("ดูรายงานค่ะ", intents.MENU, Intent.VIEW_REPORT),
    ("ช่วยเหลือค่ะ", intents.MENU, Intent.HELP),
    ("ลงทะเบียนค่ะ", intents.MENU, Intent.REGISTER),
    ("ผู้รับเหมาทิ้งงาน", intents.FORM | intents.MENU, None),
    ("ตกลงว่าต้องแก้ก่อน", intents.DECISION, None),
]


@pytest.mark.parametrize(("typed", "among", "meaning"), TABLE)
def test_vocabulary_table(typed: str, among: frozenset[Intent], meaning: Intent | None) -> None:
    assert intents.match(typed, sorted(among)) is meaning


def test_every_intent_has_words_and_every_word_matches_its_intent() -> None:
    assert set(vocabulary.WORDS) == {i.name for i in Intent}
    for intent in Intent:
        for word in intents.words(intent):
            assert intent in {i for i in Intent if intents.match(word, (i,))}, (intent, word)
            assert intents.match(f" {word} ค่ะ ", (intent,)) is intent


def test_one_word_in_two_places_means_what_the_place_says() -> None:
    assert intents.match("ตกลง", intents.CONFIRM) is Intent.YES
    assert intents.match("ตกลง", intents.DECISION) is Intent.APPROVE
    assert intents.match("แก้ไข", intents.FORM) is Intent.EDIT
    assert intents.match("แก้ไข", intents.DECISION) is Intent.RETURN


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("ส่งกลับค่ะ ขอรูปเพิ่ม", (Intent.RETURN, "ขอรูปเพิ่ม")),
        ("ส่งกลับค่ะขอรูปเพิ่ม", (Intent.RETURN, "ขอรูปเพิ่ม")),
        ("ส่งกลับแก้ไข: รูปไม่ชัด", (Intent.RETURN, "รูปไม่ชัด")),
        ("ไม่อนุมัติครับ งบเกิน", (Intent.RETURN, "งบเกิน")),
        ("อนุมัติ P001 ครับ", (Intent.APPROVE, "P001 ครับ")),
        ("ส่งกลับ คะแนนไม่ถึง", (Intent.RETURN, "คะแนนไม่ถึง")),  # "คะ" of "คะแนน" is no particle
        ("อยากทราบรายละเอียด", None),
    ],
)
def test_leading(typed: str, expected: tuple[Intent, str] | None) -> None:
    assert intents.leading(typed, intents.DECISION) == expected


def test_common_words_decide_only_when_quoting_a_card() -> None:
    assert intents.leading("ok ครับ", intents.DECISION) == (Intent.APPROVE, "")
    assert intents.leading("ok ครับ", intents.DECISION, quoting=False) is None
    assert intents.leading("แก้ไขแล้วครับ", intents.DECISION, quoting=False) is None


@pytest.mark.parametrize(
    ("typed", "plain"),
    [("อนุมัติได้เลยครับ", True), ("ok ค่ะ", True), ("โอเคเลยค่ะ 👍", True), ("ตกลงว่าต้องแก้ก่อน", False)],
)
def test_plain_approval(typed: str, plain: bool) -> None:
    assert intents.is_plain_approval(typed) is plain


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("ABCD-2345", "ABCD2345"),
        ("abcd 2345 ค่ะ", "ABCD2345"),
        ("AAAB-2345 ครับ", "AAAB2345"),
        ("ลงทะเบียน ABCD-2345 ครับ", "ABCD2345"),
        ("๒๓๔๕ABCD", "2345ABCD"),  # Thai digits are digits
        ("ฟิแกข/-ภถ", "ABCD2345"),  # the same keys with the Thai layout on
        ("ฤฺฉฏ/-ภถ", "ABCD2345"),  # … and with shift held
        ("สวัสดีครับ", None),
        ("รายงานผล", None),
    ],
)
def test_link_codes(typed: str, code: str | None) -> None:
    found = intents.link_code_text(typed)
    assert (normalize_code(found) if found else None) == code


def test_a_wrong_code_after_the_register_word_is_still_a_try() -> None:
    assert intents.link_code_text("ลงทะเบียน 12") == "12"
    assert intents.link_code_text("ลงทะเบียน") is None


def test_typing_slips_are_forgiven_for_longer_words_only() -> None:
    assert intents.match_loosely("ยกเลก", (Intent.CANCEL,)) is Intent.CANCEL
    assert intents.match_loosely("ช่วยเหลอค่ะ", intents.MENU) is Intent.HELP
    assert intents.match_loosely("ok", (Intent.CANCEL,)) is None


# --- the property: a command word is never an answer --------------------------------------------------

ALL_WORDS = sorted({w for words in vocabulary.WORDS.values() for w in words})
PARTICLES = st.sampled_from(("", *vocabulary.POLITE_PARTICLES, "นะคะ", "นะครับ", "!", " 🙏"))
SPACES = st.sampled_from(("", " ", "  ", "\u200b", "\u3000", "\t", " \u200b "))


@st.composite
def command_words(draw: st.DrawFn) -> str:
    word = draw(st.sampled_from(ALL_WORDS))
    if draw(st.booleans()):
        word = word.upper()
    # spaces inside the word, where people put them
    if len(word) > 2 and draw(st.booleans()):
        cut = draw(st.integers(1, len(word) - 1))
        word = word[:cut] + draw(SPACES) + word[cut:]
    return draw(SPACES) + word + draw(SPACES) + draw(PARTICLES) + draw(PARTICLES) + draw(SPACES)


@given(typed=command_words(), confirming=st.booleans(), expects_number=st.booleans())
def test_no_command_word_is_ever_an_answer(typed: str, confirming: bool, expects_number: bool) -> None:
    result = form_input(typed, confirming=confirming, expects_number=expects_number)
    if expects_number and intents.normalize(typed) == "-":
        return  # a minus sign before a number: the number parser answers it (and stores nothing)
    assert isinstance(result, CommandInput), typed


TEXT_FORM = Form(
    name="t",
    title="t",
    fields=(
        Field("what", Kind.LONG_TEXT, "what", lambda a, f, i: "what?"),
        Field("why", Kind.LONG_TEXT, "why", lambda a, f, i: "why?", optional=True),
    ),
)


@given(typed=command_words(), at_optional=st.booleans())
def test_no_command_word_is_stored_by_the_engine(typed: str, at_optional: bool) -> None:
    today = date(2026, 1, 15)
    state = engine.start(TEXT_FORM, None, today, engine.Start()).state
    assert state is not None
    if at_optional:
        state = engine.step(TEXT_FORM, state, TextInput("อบรมครู"), None, today).state
        assert state is not None
    inp = form_input(typed)
    result = engine.step(TEXT_FORM, state, inp, None, today)
    stored = [v for v in ((result.state or {}).get("answers") or {}).values() if isinstance(v, str)]
    assert typed not in stored and typed.strip() not in stored
    assert stored in ([], ["อบรมครู"])
