"""What `tidtam line setup` and `tidtam line check` print: each finding in Thai and in English, with
what to do about it. Pure functions of plain values."""

from __future__ import annotations

from messages.thai_numbers import format_number


def _both(ok: bool, th: str, en: str) -> str:
    return f"{'✓' if ok else '✗'} {th}\n  {en}"


def menus_done(created: list[str], kept: list[str], deleted: list[str], linked: int, default: str) -> str:
    return _both(
        True,
        f"ริชเมนู: สร้างใหม่ {len(created)} ชุด คงเดิม {len(kept)} ชุด ลบชุดเก่า {len(deleted)} ชุด "
        f"ผูกให้ผู้ใช้ {format_number(linked)} คน เมนูเริ่มต้น: {default}",
        f"Rich menus: {len(created)} created, {len(kept)} unchanged, {len(deleted)} stale deleted, "
        f"{linked} people linked; default menu: {default}",
    )


def webhook_set(endpoint: str) -> str:
    return _both(True, f"ตั้ง Webhook URL เป็น {endpoint} แล้ว", f"Webhook URL set to {endpoint}")


def webhook_test(ok: bool, endpoint: str, status: int, reason: str) -> str:
    if ok:
        return _both(True, f"LINE ทดสอบ Webhook สำเร็จ ({endpoint})", f"LINE reached the webhook ({endpoint})")
    return _both(
        False,
        f"LINE ส่งถึง Webhook ไม่สำเร็จ (สถานะ {status} {reason}) ตรวจสอบว่าบริการเปิดอยู่ เข้าถึงได้จากอินเทอร์เน็ต "
        "ผ่าน HTTPS และ LINE_CHANNEL_SECRET ตรงกับช่อง LINE",
        f"LINE could not reach the webhook (status {status} {reason}): check the service is running, reachable "
        "from the internet over HTTPS, and that LINE_CHANNEL_SECRET is the channel's",
    )


def token(ok: bool, bot_name: str = "", status: int | None = None) -> str:
    if ok:
        return _both(
            True, f"Channel access token ใช้ได้ (บัญชี {bot_name})", f"Channel access token works ({bot_name})"
        )
    return _both(
        False,
        f"Channel access token ใช้ไม่ได้ (สถานะ {status}) ออกโทเคนใหม่ใน LINE Developers Console "
        "แล้วตั้งค่า LINE_CHANNEL_ACCESS_TOKEN",
        f"The channel access token is refused (status {status}): issue a new one in the LINE Developers "
        "Console and set LINE_CHANNEL_ACCESS_TOKEN",
    )


def webhook_endpoint(ok: bool, found: str, wanted: str, active: bool) -> str:
    if ok:
        return _both(True, f"Webhook URL ถูกต้อง ({found})", f"Webhook URL is right ({found})")
    return _both(
        False,
        f"Webhook URL ของช่อง LINE คือ {found or '(ยังไม่ได้ตั้ง)'}{'' if active else ' (ปิดอยู่)'} แต่ควรเป็น {wanted} "
        "สั่ง tidtam line setup หรือแก้ใน LINE Developers Console แล้วเปิด Use webhook",
        f"The channel's webhook URL is {found or '(not set)'}{'' if active else ' (off)'} but should be {wanted}: "
        "run tidtam line setup, or fix it in the LINE Developers Console and switch on Use webhook",
    )


def quota(limit: int | None, used: int) -> str:
    if limit is None:
        return _both(
            True,
            f"โควตาข้อความเดือนนี้: ไม่จำกัด ใช้ไป {format_number(used)}",
            f"Message quota: unlimited, {used} used",
        )
    left = limit - used
    ok = left > limit // 10
    th = f"โควตาข้อความเดือนนี้ใช้ไป {format_number(used)} จาก {format_number(limit)} เหลือ {format_number(max(left, 0))} ข้อความ"
    en = f"This month's message quota: {used} of {limit} used, {max(left, 0)} left"
    if not ok:
        th += " ใกล้หมดแล้ว การแจ้งเตือนจะรวมเป็นสรุปถึงกลุ่มนโยบายและแผน หรือพิจารณาเปลี่ยนแพ็กเกจ LINE OA"
        en += ": nearly spent; reminders fall back to digests for the planning group, or consider a bigger LINE OA plan"
    return _both(ok, th, en)


def unreachable(what: str, status: int | None, error: str) -> str:
    return _both(
        False,
        f"ติดต่อ LINE ไม่ได้ขณะ{what} (สถานะ {status}) ตรวจสอบเครือข่าย และ LINE_API_BASE_URL",
        f"Could not reach LINE while {what} (status {status}: {error}): check the network and LINE_API_BASE_URL",
    )


def summary(problems: int) -> str:
    if not problems:
        return "พร้อมใช้งานค่ะ / All good."
    return f"พบปัญหา {problems} ข้อ แก้ตามคำแนะนำด้านบนค่ะ / {problems} problem(s): see above."
