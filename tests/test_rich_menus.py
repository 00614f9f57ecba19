"""Rich menus: drawn from their declarations, checked as LINE checks them, created and linked by
`tidtam line setup` against the fake LINE, kept in step with each person's roles; `tidtam line check`."""

from __future__ import annotations

import io

import httpx
import test_approvals_e2e as harness
from browser import artefact_dir
from sqlmodel import Session
from support import link_code_for
from typer.testing import CliRunner

from bot.rich_menus import body, render
from messages.menus import MenuRole
from messages.rich_menus import all_specs, spec_for
from models.org import Person, format_roles
from models.types import Role
from tidtam.cli import app

make_bot = harness.make_bot
office = harness.office
pytestmark = harness.pytestmark
runner = CliRunner()


def test_every_rich_menu_is_drawn_at_its_size_in_thai() -> None:
    from PIL import Image

    folder = artefact_dir("rich-menus")
    for spec in all_specs():
        data = render(spec)
        assert len(data) <= 1024 * 1024
        image = Image.open(io.BytesIO(data))
        assert image.size == (spec.width, spec.height)
        assert (
            sum(1 for n in image.convert("L").histogram() if n) > 20
        )  # text drawn on the tiles, not blank colour
        (folder / f"{spec.key}.png").write_bytes(data)
        areas = spec.areas()
        assert len(areas) == len(spec.buttons) <= 9
        for x, y, w, h in areas:
            assert x >= 0 and y >= 0 and x + w <= spec.width and y + h <= spec.height


def test_the_menus_follow_the_roles() -> None:
    labels = {roles: [b.label for b in spec_for(roles).buttons] for roles in [(MenuRole.REPORTER,), (MenuRole.DIRECTOR,), (MenuRole.PLANNER,), (MenuRole.UNLINKED,)]}  # fmt: skip
    assert labels[(MenuRole.REPORTER,)] == ["รายงานผล", "สถานะ", "โครงการของฉัน", "ดูรายงาน", "ติดต่อเจ้าหน้าที่", "ช่วยเหลือ"]  # fmt: skip
    assert labels[(MenuRole.DIRECTOR,)][:2] == ["รออนุมัติ", "สถานะโรงเรียน"]
    assert labels[(MenuRole.PLANNER,)][:3] == ["ภาพรวมเขต", "ใครยังไม่ส่ง", "แดชบอร์ด"]
    assert labels[(MenuRole.UNLINKED,)] == ["ลงทะเบียน", "ช่วยเหลือ"]
    data = body(spec_for((MenuRole.DIRECTOR,)))["areas"][0]["action"]["data"]
    assert data == "v1|cmd|name=pending"


def test_every_rich_menu_button_is_a_command_the_bot_routes() -> None:
    from bot.intents import MENU, Intent
    from bot.postback import decode

    for spec in all_specs():
        for area in body(spec)["areas"]:
            postback = decode(area["action"]["data"])
            assert postback is not None and postback.action == "cmd"
            assert Intent(postback.params["name"]) in MENU, area


def test_the_fake_line_refuses_what_line_would(fake_line) -> None:
    spec = spec_for((MenuRole.REPORTER,))
    good = body(spec)
    outside = {
        **good,
        "areas": [{**good["areas"][0], "bounds": {"x": 2400, "y": 0, "width": 200, "height": 100}}],
    }
    long_label = {
        **good,
        "areas": [{**good["areas"][0], "action": {**good["areas"][0]["action"], "label": "ก" * 21}}],
    }
    long_bar = {**good, "chatBarText": "เมนูของระบบติดตามผลโครงการ"}
    headers = {"Authorization": f"Bearer {fake_line.access_token}"}
    with httpx.Client(base_url=fake_line.base_url, headers=headers) as http:
        assert http.post("/v2/bot/richmenu", json=good).status_code == 200
        for bad, where in ((outside, "bounds"), (long_label, "label"), (long_bar, "chatBarText")):
            answer = http.post("/v2/bot/richmenu", json=bad)
            assert answer.status_code == 400 and where in answer.text, where
    fake_line.expect_violations(r".*")  # the three refusals above were meant


def _env(monkeypatch, db_url, fake_line, public_url: str, token: str | None = None) -> None:  # type: ignore[no-untyped-def]
    for key, value in {
        "TIDTAM_DATABASE_URL": db_url,
        "LINE_CHANNEL_SECRET": fake_line.channel_secret,
        "LINE_CHANNEL_ACCESS_TOKEN": token or fake_line.access_token,
        "LINE_API_BASE_URL": fake_line.base_url,
        "LINE_DATA_API_BASE_URL": fake_line.base_url,
        "TIDTAM_PUBLIC_URL": public_url,
        "TIDTAM_TIMEZONE": "Asia/Bangkok",
    }.items():
        monkeypatch.setenv(key, value)


def test_line_setup_and_check_against_the_fake_line(
    engine, office, make_bot, fake_line, db_url, monkeypatch
) -> None:
    bot = make_bot()
    base = fake_line.webhook_url.removesuffix("/callback")
    _env(monkeypatch, db_url, fake_line, base)

    first = runner.invoke(app, ["line", "setup"])
    assert first.exit_code == 0, first.output
    assert "สร้างใหม่ 8 ชุด" in first.output and "8 created" in first.output
    assert "LINE ทดสอบ Webhook สำเร็จ" in first.output and "LINE reached the webhook" in first.output
    assert len(fake_line.rich_menus) == 8
    assert fake_line.rich_menu_of(harness.T)["name"].startswith("tidtam:reporter:")
    assert fake_line.rich_menu_of(harness.PL)["name"].startswith("tidtam:planner:")
    assert fake_line.rich_menu_of("U" + "e" * 32)["name"].startswith("tidtam:unlinked:")  # the default
    second = runner.invoke(app, ["line", "setup"])
    assert second.exit_code == 0 and "สร้างใหม่ 0 ชุด คงเดิม 8 ชุด" in second.output  # idempotent
    assert len(fake_line.rich_menus) == 8

    checked = runner.invoke(app, ["line", "check"])
    assert checked.exit_code == 0, checked.output
    assert "Webhook URL ถูกต้อง" in checked.output and "Webhook URL is right" in checked.output
    assert "โควตาข้อความเดือนนี้" in checked.output and "All good" in checked.output

    _env(monkeypatch, db_url, fake_line, base, token="wrong-token")
    refused = runner.invoke(app, ["line", "check"])
    assert refused.exit_code == 1 and "LINE_CHANNEL_ACCESS_TOKEN" in refused.output
    fake_line.expect_violations(r".*")  # the wrong token was meant

    # A person who links gets their menu at once; a role change brings the new menu on their next message.
    with Session(engine) as s:
        teacher2 = s.get(Person, office.teacher2.id)
        teacher2.line_user_id = None
        s.add(teacher2)
        s.commit()
    newcomer = "U" + "7" * 32
    assert "ลงทะเบียนสำเร็จ" in bot.say(newcomer, link_code_for(engine, person=office.teacher2))[0]
    assert fake_line.rich_menu_of(newcomer)["name"].startswith("tidtam:reporter:")
    with Session(engine) as s:
        teacher = s.get(Person, office.teacher.id)
        teacher.roles = format_roles({Role.REPORTER, Role.APPROVER})
        s.add(teacher)
        s.commit()
    bot.say(harness.T, "สวัสดีค่ะ")
    assert fake_line.rich_menu_of(harness.T)["name"].startswith("tidtam:reporter+director:")
