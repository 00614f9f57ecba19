"""The suite passes whatever the hour (issue 13, item 11).

The product takes "today" in the office's time zone (Asia/Bangkok); tests that took it from the
machine's UTC date failed from 00:00 to 07:00 in Bangkok. Here the date-sensitive tests run in a
subprocess, four times over (tests/clock_travel.py, with time-machine): the machine clock just after
midnight on 1 October 2026 in Bangkok (still 30 September, and the last fiscal year, in UTC) and just
before midnight on 31 December 2026, each with the process's TZ=UTC (what a CI machine has) and
TZ=Asia/Bangkok (which hides a test that reads the machine's zone instead of the office's).

Why a subprocess: the clock must be travelled before any test module is imported, so that a "today"
taken at import time is caught too, and TZ=UTC is then the zone the process started with. The four
legs share one process (the plugin repeats the tests, moving the clock and TZ between legs), so
pytest starts once. SQLite only: the database has no clock of its own here (the product computes
every date and time in Python). A canary shows the harness fails a test that takes today from the
machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
MOMENTS = ("2026-10-01T00:05:00+07:00", "2026-12-31T23:55:00+07:00")
ZONES = ("UTC", "Asia/Bangkok")

# Tests whose outcome depends on the date, through an entry point that reads the system clock (the
# six of the issue were the first three, on both backends), plus a service on the product's own
# injected FixedClock, which the machine clock must not disturb.
DATE_SENSITIVE = (
    "tests/test_approvals_cli.py::test_pending_lists_what_waits_on_whom[sqlite]",
    "tests/test_approvals_e2e.py::test_acting_approver_off_then_on_their_dates[sqlite]",
    "tests/test_approvals_e2e.py::test_quote_reply_to_a_card_approved_since_by_someone_else[sqlite]",
    "tests/test_linking_cli.py::test_link_code_prints_a_code_that_links_the_person[sqlite]",
    "tests/test_webhook_e2e.py::test_follow_link_help_and_my_projects[sqlite]",
    "tests/test_report_e2e.py::test_next_quarter_defaults_and_confirmations[sqlite]",
    "tests/test_fiscal.py::test_local_today_uses_the_office_time_zone",
    # TIDTAM_NOW (issue 14): the commands' day is the one it names, whatever the machine's clock says.
    "tests/test_service_clock.py::test_tidtam_now_sets_the_day_of_remind_and_the_clock_command[sqlite]",
)

CANARY = """
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

BANGKOK = ZoneInfo("Asia/Bangkok")
TODAY = datetime.now(UTC).date()  # the bug: the machine's UTC date, taken at import


def test_today_from_the_utc_date() -> None:
    assert TODAY == datetime.now(BANGKOK).date()


def test_today_from_the_machine_zone() -> None:
    assert datetime.now(UTC).astimezone().date() == datetime.now(BANGKOK).date()
"""


def _pytest_at(
    moments: tuple[str, ...], zones: tuple[str, ...], args: list[str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """pytest in a subprocess started with TZ set to the first zone, the clock_travel plugin on."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(
        TZ=zones[0],
        TIDTAM_TEST_CLOCK=",".join(moments),
        TIDTAM_TEST_ZONES=",".join(zones),
        PYTHONPATH=os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    )
    command = [sys.executable, "-m", "pytest", "-p", "clock_travel", "-p", "no:cacheprovider"]
    command += ["-p", "no:hypothesispytest", "-rf", *args]  # no hypothesis here: a faster start
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_date_sensitive_tests_pass_just_after_and_just_before_midnight_in_bangkok() -> None:
    result = _pytest_at(MOMENTS, ZONES, list(DATE_SENSITIVE), ROOT)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    legs = "; ".join(f"{moment} TZ={zone!r}" for zone in ZONES for moment in MOMENTS)
    assert f"clock_travel: each test at {legs}" in output, output[:3000]
    assert f" {len(DATE_SENSITIVE) * len(MOMENTS) * len(ZONES)} passed" in output, output[-2000:]


def test_the_harness_fails_a_test_that_takes_today_from_the_machine(tmp_path: Path) -> None:
    (tmp_path / "test_canary.py").write_text(CANARY, encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")  # not the project's settings
    result = _pytest_at(MOMENTS[:1], ZONES, ["test_canary.py"], tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-3000:]
    # Just after midnight in Bangkok: the UTC date is wrong in both zones, the machine's zone in UTC only.
    assert "3 failed, 1 passed" in output, output[-3000:]
    assert "leg at 2026-10-01T00:05:00+07:00 TZ='UTC'" in output, output[-3000:]
    assert "leg at 2026-10-01T00:05:00+07:00 TZ='Asia/Bangkok'" in output, output[-3000:]
