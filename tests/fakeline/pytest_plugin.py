"""pytest plugin: the ``fake_line`` fixture (the product's LINE emulator) and a guard against
contacting LINE.

Enable with ``pytest_plugins = ["fakeline.pytest_plugin"]`` (tests/ on sys.path) or
``-p fakeline.pytest_plugin``.

* ``fake_line``: a started :class:`tidtam.emulator.LineEmulator`, stopped after the test.  The test fails if
  the product sent anything LINE would reject (``fake.violations``) unless the test declared it
  with ``fake.expect_violations()``.  Violations found after the test body (e.g. by background
  tasks stopped at teardown) are reported as a teardown error.
* For the whole session, resolving LINE's hosts (api.line.me, api-data.line.me, ...) raises, so
  nothing can reach the real platform.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tidtam.emulator import LineEmulator as FakeLine

from .guard import block_line_hosts

_CHECKED = pytest.StashKey[bool]()


def _report(fake: FakeLine) -> str | None:
    problems = fake.unexpected_violations()
    if not problems:
        return None
    lines = "\n".join(f"  - {p}" for p in problems)
    return (
        f"the LINE emulator refused {len(problems)} request(s) that LINE would reject:\n{lines}\n"
        "(call fake_line.expect_violations() if the test provokes them on purpose)"
    )


@pytest.fixture(scope="session", autouse=True)
def _fakeline_block_real_line() -> Iterator[None]:
    with block_line_hosts():
        yield


@pytest.fixture
def fake_line(request: pytest.FixtureRequest) -> Iterator[FakeLine]:
    fake = FakeLine().start()
    try:
        yield fake
    finally:
        fake.stop()
    if not request.node.stash.get(_CHECKED, False):
        message = _report(fake)
        if message:
            pytest.fail(message, pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    result = yield
    funcargs = getattr(item, "funcargs", {})
    fake = funcargs.get("fake_line")
    if isinstance(fake, FakeLine):
        item.stash[_CHECKED] = True
        message = _report(fake)
        if message:
            pytest.fail(message, pytrace=False)
    return result
