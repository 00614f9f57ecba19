"""The demo's five-minute tour, in a real browser (issue 14): `tidtam demo` started as a newcomer
starts it, then Debian's chromium drives the simulator page.

A teacher reports a quarter with a photo; her director gets the request in the next working day's
message (within the free plan's rules) and approves it by quote-reply in a second page; the teacher
hears of it on her next free reply;
the clock moves past the quarter's due date and the reminder arrives in a third person's chat; a
planner opens the dashboard from the chat's link. The
service runs on TIDTAM_NOW (a Monday in the first quarter of fiscal year 2570), never the machine's
date. Screenshots are kept in var/test-artefacts/simulator-tour/ (not committed) to look at.
"""

from __future__ import annotations

import os
import queue
import re
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from browser import artefact_dir
from support import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
START = "2026-11-16T10:00:00+07:00"  # Monday; quarter 1 of FY 2570 is due on 11 Jan 2570 BE
PAST_DUE = "2027-01-12T09:00"  # the day after the due date, as the clock panel's input takes it
READY_LINE = "Open the LINE simulator: "
WAIT_MS = 120_000  # generous: a loaded 2-core machine answers slowly (a 37-working-day clock jump took over 60 s at load 14)


def png(width: int = 48, height: int = 32) -> bytes:
    """A small real PNG photo (a colour gradient)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(
        b"\x00" + b"".join(bytes(((40 + 4 * x) % 256, (120 + 3 * y) % 256, 200)) for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


class Demo:
    """`tidtam demo` in a subprocess, with its output collected."""

    def __init__(self, env: dict[str, str]) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tidtam.cli", "demo", "--schools", "3"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def url(self, timeout: float = 90.0) -> str:
        """The simulator URL the demo prints once it listens."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            self.output.append(line)
            if READY_LINE in line:
                return line.split(READY_LINE, 1)[1].strip()
        raise AssertionError("the demo did not say where its simulator is:\n" + "".join(self.output))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        while not self.lines.empty():
            self.output.append(self.lines.get())


@pytest.fixture
def demo_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "TIDTAM_"))}
    env.update(
        TIDTAM_DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        TIDTAM_MEDIA_DIR=str(tmp_path / "media"),
        TIDTAM_PORT=str(free_port()),
        TIDTAM_NOW=START,
        TIDTAM_LOG_LEVEL="WARNING",
    )
    return env


@pytest.fixture
def demo(demo_env: dict[str, str]) -> Iterator[tuple[Demo, str]]:
    running = Demo(demo_env)
    try:
        yield running, running.url()
    finally:
        running.stop()


def bot_rows(page):  # type: ignore[no-untyped-def]
    return page.locator(".row.bot[data-kind]")


def last_bot_text(page) -> str:  # type: ignore[no-untyped-def]
    rows = bot_rows(page)
    return rows.nth(rows.count() - 1).inner_text() if rows.count() else ""


def answered(page, act) -> str:  # type: ignore[no-untyped-def]
    """Do ``act`` and wait for the bot's next message in this chat; returns its text."""
    before = bot_rows(page).count()
    act()
    page.wait_for_function(
        f"document.querySelectorAll('.row.bot[data-kind]').length > {before}", timeout=WAIT_MS
    )
    page.wait_for_timeout(300)  # a reply may come in more than one delivery
    return last_bot_text(page)


def say(page, text: str) -> str:  # type: ignore[no-untyped-def]
    def act() -> None:
        page.fill("#text-input", text)
        page.press("#text-input", "Enter")

    return answered(page, act)


def tap_quick(page, label: str | None = None) -> str:  # type: ignore[no-untyped-def]
    """Tap the quick reply with ``label`` (the first one when None); returns the bot's answer."""
    buttons = page.locator("#quick button")
    return answered(
        page, lambda: (buttons if label is None else buttons.filter(has_text=label)).first.click()
    )


def wait_for_face(page, day: str, url: str) -> None:  # type: ignore[no-untyped-def]
    """Wait until the page's clock face shows ``day``; if it never does, say what the page and the
    service's clock showed instead."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.locator("#clock-date", has_text=day).wait_for(timeout=WAIT_MS)
    except PlaywrightTimeout:
        shown = page.evaluate("[document.querySelector('#clock-date').textContent, clockSeq]")
        service = httpx.get(f"{url.rsplit('/simulator', 1)[0]}/simulator/api/clock", timeout=30).json()
        raise AssertionError(
            f"the face never showed {day}: page (face, seq) {shown}, service {service}"
        ) from None


def people(url: str) -> list[dict[str, object]]:
    base = url.rsplit("/simulator", 1)[0]
    return httpx.get(f"{base}/simulator/api/people", timeout=10).json()


def test_the_tour_teacher_reports_director_approves_by_quote_reply_reminder_after_the_due_date(
    demo: tuple[Demo, str],
    chromium,
    tmp_path: Path,
) -> None:
    running, url = demo
    shots = artefact_dir("simulator-tour")
    everyone = people(url)
    teacher = next(p for p in everyone if p["kind"] == "teacher" and p["projects"])
    director = next(
        p for p in everyone if p["kind"] == "school_director" and p["office_code"] == teacher["office_code"]
    )
    third = next(
        p
        for p in everyone
        if p["kind"] == "teacher" and p["projects"] and p["office_code"] != teacher["office_code"]
    )
    photo = tmp_path / "evidence.png"
    photo.write_bytes(png())

    context = chromium.new_context(viewport={"width": 1100, "height": 900}, locale="th-TH")
    # --- the teacher: picked from the list, reports a quarter with a photo -------------------------
    page = context.new_page()
    page.goto(url)
    assert page.evaluate("document.fonts.check('16px Loma', 'ก')"), "no Thai font: Thai would show as boxes"
    page.locator(".person[data-kind=teacher]").first.click()
    page.wait_for_url(f"**as={teacher['user_id']}")
    assert teacher["name"] in page.locator("#me-name").inner_text()
    # The reporter's rich menu (drawn by the service, set up through LINE's API at the demo's start)
    page.locator("#menu-bar").wait_for(timeout=WAIT_MS)
    if page.locator("#richmenu").is_hidden():
        page.click("#menu-bar")
    page.wait_for_function("document.querySelector('#richmenu img')?.naturalWidth === 2500", timeout=WAIT_MS)
    assert page.locator("#richmenu .area").count() >= 4
    page.screenshot(path=shots / "0-teacher-rich-menu.png")
    page.click("#menu-bar")  # closed again
    assert "โครงการไหน" in say(page, "รายงานผล")
    page.screenshot(path=shots / "1-teacher-quick-replies.png")
    assert "สถานะการดำเนินงาน" in tap_quick(page)  # the first project
    assert "กี่เปอร์เซ็นต์" in tap_quick(page, "อยู่ระหว่างดำเนินการ")
    assert "เบิกจ่าย" in say(page, "60")
    text = say(page, "25000")
    for _ in range(5):
        if "ผลตัวชี้วัด" not in text:
            break
        text = say(page, "10")
    assert "กิจกรรม" in text
    assert "ปัญหาอุปสรรค" in say(page, "จัดค่ายภาษาอังกฤษ 2 วัน")
    assert "ข้อเสนอแนะ" in tap_quick(page, "ข้าม")
    assert "รูปหลักฐาน" in tap_quick(page, "ข้าม")
    text = answered(page, lambda: page.set_input_files("#photo-input", str(photo)))
    assert "ได้รับรูปที่ 1" in text
    assert page.locator(".row.me .bubble.photo img").count() == 1
    assert page.evaluate("document.querySelector('.row.me .bubble.photo img').naturalWidth") == 48
    summary = tap_quick(page, "เสร็จ")
    assert "ตรวจสอบคำตอบ" in summary and "60" in summary
    card = page.locator(".flex-bubble").last
    assert card.locator(".flex-button", has_text="ยืนยันส่ง").count() == 1
    page.screenshot(path=shots / "2-teacher-flex-summary.png")
    sent = answered(page, lambda: card.locator(".flex-button", has_text="ยืนยันส่ง").click())
    assert "ส่งรายงาน" in sent and director["name"] in sent
    assert "ฟรี" in bot_rows(page).last.locator(".tag").inner_text()  # an answer is a free reply

    project_code = re.search(r"2570-S\d{5}-\d{2}", sent)
    assert project_code is not None, sent

    # --- the director, in a second page: within the free plan the request waits for the director's
    # one message of the day (the next working day's tick), a paid push; approve it by quote-reply ---
    boss = context.new_page()
    boss.goto(f"{url}?as={director['user_id']}")
    # The panel's buttons answer once the page has set it up, which its first clock face shows: a
    # click before that reaches no listener, and the clock never moves.
    wait_for_face(boss, "16 พ.ย. 2569", url)
    boss.locator("#clock-next-day").click()
    boss.wait_for_function("!document.querySelector('#clock-next-day').disabled", timeout=60_000)
    wait_for_face(boss, "17 พ.ย. 2569", url)
    request = boss.locator(".row.bot[data-kind=push]", has_text=project_code.group()).first
    request.wait_for(timeout=WAIT_MS)
    assert "โควตา" in request.locator(".tag").inner_text()
    request.locator(".pressable", has_text=project_code.group()).last.click(button="right")
    boss.locator("#ctx button[data-action=quote]").click()
    assert not boss.locator("#quote-box").is_hidden()
    verdict = say(boss, "อนุมัติ")
    assert "อนุมัติรายงาน" in verdict
    assert boss.locator(".row.me .quoted").count() == 1
    boss.screenshot(path=shots / "3-director-approved-by-quote-reply.png")
    # The teacher hears of it on her next free reply (a rider), not by another paid push.
    assert "อนุมัติ" in say(page, "สถานะ")
    assert "ฟรี" in bot_rows(page).last.locator(".tag").inner_text()

    # --- a third person: the clock moves past the due date, and the reminder arrives ----------------
    other = context.new_page()
    other.goto(f"{url}?as={third['user_id']}")
    wait_for_face(other, "17 พ.ย. 2569", url)  # the panel set up (see the director's page)
    other.locator("#clock-at").fill(PAST_DUE)
    other.locator("#clock-go").click()
    other.wait_for_function("!document.querySelector('#clock-go').disabled", timeout=60_000)
    moved = other.locator("#clock-lines").inner_text()
    assert "เลื่อนนาฬิกาจาก 17 พ.ย. 2569" in moved and "12 ม.ค. 2570" in moved, moved
    wait_for_face(other, "12 ม.ค. 2570", url)
    reminder = other.locator(".row.bot[data-kind=push]", has_text="ครบกำหนด").first
    reminder.wait_for(timeout=WAIT_MS)
    assert "11 ม.ค. 2570" in reminder.inner_text()
    other.screenshot(path=shots / "4-reminder-after-the-clock-moved.png")

    # --- a planner opens the dashboard from the chat, as from LINE: the link opens in a new tab ------
    planner = next(p for p in everyone if p["kind"] == "planner")
    desk = context.new_page()
    desk.goto(f"{url}?as={planner['user_id']}")
    assert "แดชบอร์ด" in say(desk, "แดชบอร์ด")
    with context.expect_page() as opened:
        desk.locator(".template .t-actions button").last.click()
    dashboard = opened.value
    dashboard.wait_for_load_state()
    assert dashboard.url.startswith(url.rsplit("/simulator", 1)[0] + "/dashboard")
    assert dashboard.locator("h1").first.inner_text() == "สถานะการรายงาน"
    dashboard.screenshot(path=shots / "5-planner-dashboard-from-the-chat.png")
    context.close()
    assert not [line for line in running.output if "Traceback" in line]


def test_starting_the_demo_again_reuses_the_database_and_the_chats(demo_env: dict[str, str]) -> None:
    first = Demo(demo_env)
    try:
        url = first.url()
        before = people(url)
        teacher = before[0]["user_id"]
        base = url.rsplit("/simulator", 1)[0]
        httpx.post(f"{base}/simulator/api/chats/{teacher}/say", json={"text": "สถานะ"}, timeout=10)
        turns: list[dict[str, object]] = []
        for _ in range(120):  # bounded: a minute on a busy machine
            turns = httpx.get(f"{base}/simulator/api/chats/{teacher}", timeout=20).json()["turns"]
            if any(t["side"] == "bot" and t["kind"] == "reply" for t in turns):
                break
            time.sleep(0.5)
    finally:
        first.stop()
    assert any("loading a demo office" in line for line in first.output)
    second = Demo(demo_env)
    try:
        url = second.url()
        after = people(url)
        again = httpx.get(f"{base}/simulator/api/chats/{teacher}", timeout=20).json()["turns"]
    finally:
        second.stop()
    assert not any("loading a demo office" in line for line in second.output)
    assert [p["user_id"] for p in after] == [p["user_id"] for p in before]
    assert len(before) > 10
    assert [t["seq"] for t in again] == [t["seq"] for t in turns] and len(turns) >= 2
    assert again[0]["text"] == "สถานะ"
