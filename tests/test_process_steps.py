"""Tests for scheduler.process_steps: the manual's steps as data, and their windows in a fiscal year."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.process_steps import (
    ACTIONS,
    MonthRef,
    ProcessStep,
    ProcessStepsError,
    StepWindow,
    load_process_steps,
    step_windows,
    windows_closing_within,
    windows_open_on,
    windows_opening_on,
)

STEPS = load_process_steps()
BY_ID = {step.id: step for step in STEPS}
PLANNING_GROUP = "กลุ่มนโยบายและแผน"

EXPECTED_IDS = [
    *(f"A{i}" for i in range(1, 7)),
    *(f"B1.{i}" for i in range(1, 7)),
    *(f"B2.{i}" for i in range(1, 6)),
    *(f"B3.{i}" for i in range(1, 6)),
    *(f"C{i}" for i in range(1, 6)),
]


def _window(fy: int, step_id: str, part: int = 0) -> tuple[date, date]:
    [found] = [w for w in step_windows(fy, STEPS) if w.step.id == step_id and w.part == part]
    return found.start, found.end


def _keys(windows: list[StepWindow]) -> set[tuple[str, int, int]]:
    return {(w.step.id, w.fiscal_year, w.part) for w in windows}


def _write(tmp_path: Path, text: str, name: str = "steps.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the packaged data --------------------------------------------------------------------------


def test_all_steps_of_the_three_processes_load_in_order() -> None:
    assert [step.id for step in STEPS] == EXPECTED_IDS
    assert {step.process for step in STEPS} == {"A", "B", "C"}
    for step in STEPS:
        assert step.id.startswith(step.process)
        assert step.title_th and step.title_en and step.responsible
        assert step.enabled
        assert step.action is None or step.action in ACTIONS


def test_titles_and_responsible_groups_come_from_the_manual() -> None:
    assert BY_ID["A1"].title_th.startswith("ศึกษา วิเคราะห์รายละเอียดนโยบาย กลยุทธ์และแผนปฏิบัติการประจำปี")
    assert BY_ID["A3"].quality_standard == "เครื่องมือกำกับติดตามสอดคล้องกับเครื่องมือของหน่วยงานที่เกี่ยวข้อง"
    assert BY_ID["A6"].responsible == "ผู้อำนวยการกลุ่มนโยบายและแผน, หัวหน้ากลุ่มงานติดตามฯ"
    assert BY_ID["A6"].quality_standard == "หน่วยงานเสนอรายงานผลการดำเนินงานประจำปีเป็นระบบ"
    assert "Annual Year Report" in BY_ID["A6"].title_th
    assert "M1-M5" in BY_ID["C3"].title_th
    assert BY_ID["C3"].quality_standard == "มีการนำข้อมูลโครงการในระบบฯ"
    assert all(BY_ID[f"C{i}"].responsible == PLANNING_GROUP for i in range(1, 6))
    assert BY_ID["A2"].quality_standard is None


def test_actions_of_the_product() -> None:
    assert BY_ID["C3"].action == "collect_reports"
    assert BY_ID["C4"].action == "request_approval"
    assert BY_ID["A6"].action == "annual_report"
    assert BY_ID["A1"].action == "announce"


# --- process A ----------------------------------------------------------------------------------


def test_process_a_windows_fy_2570() -> None:
    assert _window(2570, "A1") == (date(2026, 9, 1), date(2026, 10, 31))  # starts before the FY
    assert _window(2570, "A2") == (date(2026, 10, 1), date(2026, 11, 30))
    assert _window(2570, "A3") == (date(2026, 10, 1), date(2026, 11, 30))
    for step_id in ("A4", "A5", "A6"):
        assert _window(2570, step_id) == (date(2027, 9, 1), date(2027, 9, 30))  # the FY's last month


def test_process_a_windows_fy_2571() -> None:
    assert _window(2571, "A1") == (date(2027, 9, 1), date(2027, 10, 31))
    assert _window(2571, "A3") == (date(2027, 10, 1), date(2027, 11, 30))
    assert _window(2571, "A6") == (date(2028, 9, 1), date(2028, 9, 30))


# --- process B ----------------------------------------------------------------------------------


def test_process_b1_windows() -> None:
    assert BY_ID["B1.1"].windows[0].start == MonthRef(year_offset=0, month=10)
    assert _window(2570, "B1.1", 0) == (date(2026, 10, 1), date(2027, 2, 28))
    assert _window(2570, "B1.1", 1) == (date(2027, 3, 1), date(2027, 9, 30))
    assert _window(2571, "B1.1", 0) == (date(2027, 10, 1), date(2028, 2, 29))  # leap February
    for step_id in ("B1.2", "B1.3", "B1.4", "B1.5", "B1.6"):
        assert _window(2570, step_id) == (date(2027, 9, 1), date(2027, 10, 31))  # into the next FY


def test_process_b2_windows() -> None:
    assert _window(2570, "B2.1") == (date(2026, 10, 1), date(2027, 2, 28))
    assert _window(2570, "B2.2") == (date(2027, 3, 1), date(2027, 3, 31))
    assert _window(2570, "B2.3") == (date(2027, 9, 1), date(2027, 10, 31))
    assert _window(2570, "B2.4") == (date(2027, 9, 1), date(2027, 10, 31))
    assert _window(2570, "B2.5") == (date(2027, 11, 1), date(2027, 11, 30))
    assert _window(2571, "B2.5") == (date(2028, 11, 1), date(2028, 11, 30))


def test_process_b3_windows() -> None:
    assert _window(2570, "B3.1") == (date(2027, 3, 1), date(2027, 4, 30))
    for step_id in ("B3.2", "B3.3", "B3.4", "B3.5"):
        assert _window(2570, step_id) == (date(2027, 9, 1), date(2027, 10, 31))
        assert _window(2571, step_id) == (date(2028, 9, 1), date(2028, 10, 31))


# --- process C ----------------------------------------------------------------------------------


def test_process_c_windows() -> None:
    for fy, october in ((2570, 2026), (2571, 2027)):
        assert _window(fy, "C1") == (date(october, 10, 1), date(october, 10, 31))
        assert _window(fy, "C2") == (date(october, 10, 1), date(october, 10, 31))
        for step_id in ("C3", "C4", "C5"):
            assert _window(fy, step_id) == (date(october, 11, 1), date(october + 1, 9, 30))


# --- queries on a date --------------------------------------------------------------------------


def test_windows_open_on_the_first_day_of_fy_2570() -> None:
    found = _keys(windows_open_on(date(2026, 10, 1), STEPS))
    assert ("A1", 2570, 0) in found
    assert ("A2", 2570, 0) in found
    assert ("C1", 2570, 0) in found
    assert ("B1.1", 2570, 0) in found
    assert ("B1.3", 2569, 0) in found  # FY 2569's evaluation runs into October
    assert ("C3", 2570, 0) not in found  # Nov–Sep
    assert ("A6", 2569, 0) not in found  # September only


def test_windows_open_on_is_ordered_by_start() -> None:
    found = windows_open_on(date(2026, 10, 15), STEPS)
    starts = [w.start for w in found]
    assert starts == sorted(starts)
    assert all(w.contains(date(2026, 10, 15)) for w in found)


def test_windows_opening_on() -> None:
    opening = _keys(windows_opening_on(date(2026, 9, 1), STEPS))
    assert ("A1", 2570, 0) in opening
    assert ("A6", 2569, 0) in opening
    assert ("B1.2", 2569, 0) in opening
    assert ("B1.1", 2569, 1) not in opening  # that one opened in March
    assert _keys(windows_opening_on(date(2026, 11, 1), STEPS)) == {
        ("C3", 2570, 0),
        ("C4", 2570, 0),
        ("C5", 2570, 0),
        ("B2.5", 2569, 0),
    }
    assert windows_opening_on(date(2026, 11, 2), STEPS) == []


def test_windows_closing_within() -> None:
    closing = windows_closing_within(date(2026, 10, 25), 10, STEPS)
    keys = _keys(closing)
    assert ("A1", 2570, 0) in keys
    assert ("C1", 2570, 0) in keys
    assert ("B3.5", 2569, 0) in keys
    assert ("A2", 2570, 0) not in keys  # closes 30 Nov
    assert all(date(2026, 10, 25) <= w.end <= date(2026, 11, 4) for w in closing)
    ends = [w.end for w in closing]
    assert ends == sorted(ends)


def test_windows_closing_within_zero_days_is_today_only() -> None:
    assert _keys(windows_closing_within(date(2026, 11, 30), 0, STEPS)) == {
        ("A2", 2570, 0),
        ("A3", 2570, 0),
        ("B2.5", 2569, 0),
    }
    assert windows_closing_within(date(2026, 11, 29), 0, STEPS) == []
    with pytest.raises(ValueError):
        windows_closing_within(date(2026, 11, 29), -1, STEPS)


def test_windows_closing_within_a_long_horizon_finds_every_year() -> None:
    closing = windows_closing_within(date(2026, 10, 1), 3 * 366, STEPS)
    a6_years = sorted(w.fiscal_year for w in closing if w.step.id == "A6")
    assert a6_years == [2570, 2571, 2572]


def brute_force_open(d: date, steps: list[ProcessStep]) -> set[tuple[str, int, int]]:
    """Every window of the five fiscal years either side of ``d``'s, filtered by hand."""
    fy = d.year + 543
    windows = [w for year in range(fy - 5, fy + 6) for w in step_windows(year, steps)]
    return _keys([w for w in windows if w.start <= d <= w.end])


@given(st.dates(min_value=date(1950, 1, 1), max_value=date(2150, 12, 31)))
def test_windows_open_on_matches_brute_force(d: date) -> None:
    assert _keys(windows_open_on(d, STEPS)) == brute_force_open(d, STEPS)


@given(st.integers(min_value=2490, max_value=2690))
def test_every_window_is_whole_months_in_order(fy: int) -> None:
    for w in step_windows(fy, STEPS):
        assert w.start.day == 1
        assert (w.end + timedelta(days=1)).day == 1
        assert w.start <= w.end
        assert w.fiscal_year == fy
        assert (w.end - w.start).days < 2 * 366


# --- overrides ----------------------------------------------------------------------------------

OVERRIDE = """
[[steps]]
id = "C3"
start = { month = 12 }
end = { month = 8 }

[[steps]]
id = "B2.2"
enabled = false

[[steps]]
id = "A1"
title_en = "Study the policies (office wording)"

[[steps]]
id = "C6"
process = "C"
title_th = "ประชุมชี้แจงการรายงานผล"
title_en = "Briefing on reporting"
start = { month = 1 }
end = { month = 1 }
responsible = "กลุ่มนโยบายและแผน"
action = "announce"
"""


def test_override_replaces_disables_patches_and_adds(tmp_path: Path) -> None:
    steps = load_process_steps(overrides=_write(tmp_path, OVERRIDE))
    by_id = {step.id: step for step in steps}
    assert [step.id for step in steps] == [i for i in EXPECTED_IDS if i != "B2.2"] + ["C6"]
    assert "B2.2" not in by_id
    c3 = [w for w in step_windows(2570, steps) if w.step.id == "C3"]
    assert [(w.start, w.end) for w in c3] == [(date(2026, 12, 1), date(2027, 8, 31))]
    assert by_id["C3"].title_th == BY_ID["C3"].title_th  # untouched keys are kept
    assert by_id["A1"].title_en == "Study the policies (office wording)"
    assert by_id["A1"].windows == BY_ID["A1"].windows
    assert _keys(windows_opening_on(date(2027, 1, 1), steps)) == {("C6", 2570, 0)}


def test_disabled_steps_on_request(tmp_path: Path) -> None:
    steps = load_process_steps(overrides=_write(tmp_path, OVERRIDE), include_disabled=True)
    disabled = [step for step in steps if not step.enabled]
    assert [step.id for step in disabled] == ["B2.2"]
    assert all(w.step.id != "B2.2" for w in step_windows(2570, steps))


def test_override_windows_replace_single_window(tmp_path: Path) -> None:
    text = """
[[steps]]
id = "A1"
windows = [{ start = { month = 8, year_offset = -1 }, end = { month = 8, year_offset = -1 } },
           { start = { month = 10 }, end = { month = 10 } }]
"""
    steps = load_process_steps(overrides=_write(tmp_path, text))
    a1 = [(w.start, w.end) for w in step_windows(2570, steps) if w.step.id == "A1"]
    assert a1 == [(date(2026, 8, 1), date(2026, 8, 31)), (date(2026, 10, 1), date(2026, 10, 31))]


def test_explicit_path(tmp_path: Path) -> None:
    text = """
[[steps]]
id = "A9"
process = "A"
title_th = "ทดสอบ"
title_en = "Test"
start = { month = 9, year_offset = -1 }
end = { month = 10, year_offset = 1 }
responsible = "กลุ่มนโยบายและแผน"
"""
    [step] = load_process_steps(_write(tmp_path, text))
    [window] = step_windows(2570, [step])
    assert (window.start, window.end) == (date(2026, 9, 1), date(2027, 10, 31))
    assert step.quality_standard is None and step.action is None


# --- validation ---------------------------------------------------------------------------------

VALID = """
id = "A9"
process = "A"
title_th = "ทดสอบ"
title_en = "Test"
responsible = "กลุ่มนโยบายและแผน"
"""


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ('start = { month = 10 }\nend = { month = 11 }\ncolour = "red"', "unknown keys ['colour']"),
        ("start = { month = 13 }\nend = { month = 11 }", "'start.month' must be an integer 1..12"),
        ("start = { month = 0 }\nend = { month = 11 }", "'start.month' must be an integer 1..12"),
        ("start = { month = 10 }\nend = { month = 9, year_offset = -1 }", "comes before its start"),
        ("start = { month = 3 }\nend = { month = 2 }", "comes before its start"),
        ("start = { month = 10 }\nend = { month = 11, year_offset = 2 }", "year_offset' must be -1, 0 or 1"),
        ("start = { month = 10, day = 5 }\nend = { month = 11 }", "unknown keys ['day']"),
        ("start = { month = 10 }", "'start' and 'end' must be given together"),
        ("", "missing its months"),
        (
            "start = { month = 10 }\nend = { month = 11 }\nwindows = [{ start = { month = 1 }, end = { month = 2 } }]",
            "not both",
        ),
        ("windows = []", "non-empty array"),
        ("windows = [{ start = { month = 1 } }]", "exactly the keys 'start' and 'end'"),
        ('start = { month = 10 }\nend = { month = 11 }\naction = "dance"', "'action' must be one of"),
        ("start = { month = 10 }\nend = { month = 11 }\nenabled = 1", "'enabled' must be true or false"),
        ('start = "Oct"\nend = { month = 11 }', "'start' must be a table"),
    ],
)
def test_validation_names_the_step(tmp_path: Path, extra: str, problem: str) -> None:
    path = _write(tmp_path, "[[steps]]\n" + VALID + extra + "\n")
    with pytest.raises(ProcessStepsError) as caught:
        load_process_steps(path)
    message = str(caught.value)
    assert "'A9'" in message
    assert problem in message
    assert str(path) in message


def test_validation_of_process_and_id(tmp_path: Path) -> None:
    bad_process = (
        VALID.replace('process = "A"', 'process = "D"') + "start = { month = 10 }\nend = { month = 11 }"
    )
    with pytest.raises(ProcessStepsError, match=r"'A9'.*'process' must be one of"):
        load_process_steps(_write(tmp_path, "[[steps]]\n" + bad_process))
    wrong_letter = (
        VALID.replace('process = "A"', 'process = "B"') + "start = { month = 10 }\nend = { month = 11 }"
    )
    with pytest.raises(ProcessStepsError, match="must start with its process letter"):
        load_process_steps(_write(tmp_path, "[[steps]]\n" + wrong_letter))
    no_title = VALID.replace('title_th = "ทดสอบ"', "") + "start = { month = 10 }\nend = { month = 11 }"
    with pytest.raises(ProcessStepsError, match=r"'A9'.*'title_th' is required"):
        load_process_steps(_write(tmp_path, "[[steps]]\n" + no_title))


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    entry = "[[steps]]\n" + VALID + "start = { month = 10 }\nend = { month = 11 }\n"
    with pytest.raises(ProcessStepsError, match=r"'A9': duplicate id"):
        load_process_steps(_write(tmp_path, entry + entry))


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(ProcessStepsError, match="unknown keys"):
        load_process_steps(_write(tmp_path, 'title = "x"\n'))
    with pytest.raises(ProcessStepsError, match="not valid TOML"):
        load_process_steps(_write(tmp_path, "[[steps]\n"))
    with pytest.raises(ProcessStepsError, match="cannot read"):
        load_process_steps(tmp_path / "missing.toml")
    with pytest.raises(ProcessStepsError, match="missing or empty 'id'"):
        load_process_steps(_write(tmp_path, '[[steps]]\nprocess = "A"\n'))


def test_override_errors_name_the_override_file(tmp_path: Path) -> None:
    bad = _write(
        tmp_path, '[[steps]]\nid = "C3"\nend = { month = 13 }\nstart = { month = 11 }\n', "office.toml"
    )
    with pytest.raises(ProcessStepsError) as caught:
        load_process_steps(overrides=bad)
    assert "office.toml" in str(caught.value)
    assert "'C3'" in str(caught.value)
    incomplete = _write(tmp_path, '[[steps]]\nid = "C9"\nprocess = "C"\n', "new.toml")
    with pytest.raises(ProcessStepsError, match=r"'C9'.*is required"):
        load_process_steps(overrides=incomplete)
    unknown = _write(tmp_path, '[[steps]]\nid = "C3"\nbudget = 5\n', "unknown.toml")
    with pytest.raises(ProcessStepsError, match=r"'C3': unknown keys \['budget'\]"):
        load_process_steps(overrides=unknown)
