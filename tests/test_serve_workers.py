"""`TIDTAM_WORKERS=N` for `tidtam serve`: N worker processes share the users, each user's events in order;
SQLite runs one and says so."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select
from support import free_port

from bot.intake import source_share
from models.db import make_engine
from models.messaging import WebhookEvent
from models.ops import WorkerHeartbeat
from models.types import EventStatus

pytestmark = pytest.mark.usefixtures("fake_line")


def test_every_source_falls_to_one_worker_the_same_in_every_process() -> None:
    users = [f"U{i:032x}" for i in range(200)]
    shares = [source_share(user, 3) for user in users]
    assert set(shares) == {0, 1, 2}  # all three take part
    assert shares == [source_share(user, 3) for user in users]  # stable (not Python's salted hash)
    assert all(source_share(user, 1) == 0 for user in users)


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _wait_for(condition, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return bool(condition())


def test_serve_with_several_workers_shares_the_users_and_keeps_each_ones_order(
    db_url: str, fake_line, tmp_path: Path
) -> None:
    port = free_port()
    log_path = tmp_path / "serve.log"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "TIDTAM_"))},
        "TIDTAM_DATABASE_URL": db_url,
        "LINE_CHANNEL_SECRET": fake_line.channel_secret,
        "LINE_CHANNEL_ACCESS_TOKEN": fake_line.access_token,
        "LINE_API_BASE_URL": fake_line.base_url,
        "LINE_DATA_API_BASE_URL": fake_line.base_url,
        "TIDTAM_MEDIA_DIR": str(tmp_path / "media"),
        "TIDTAM_SCHEDULER_ENABLED": "false",
        "TIDTAM_WORKERS": "2",
        "TIDTAM_EVENT_WORKERS": "4",
    }
    postgres = db_url.startswith("postgresql")
    users = [f"U{i:032x}" for i in range(12)]
    assert {source_share(u, 2) for u in users} == {0, 1}
    per_user = 5
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tidtam.cli", "serve", "--port", str(port), "--no-migrate"],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    engine = make_engine(db_url)
    try:

        def healthy() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        assert _wait_for(healthy, 60), log_path.read_text()[-2000:]
        fake_line.webhook_url = f"http://127.0.0.1:{port}/callback"
        assert _wait_for(lambda: len(_children(proc.pid)) == (2 if postgres else 1), 30)
        for _ in range(per_user):
            for user in users:
                assert fake_line.send_sync(fake_line.text_event(user, "ช่วยเหลือ")).status_code == 200
        assert _wait_for(lambda: len(fake_line.requests_to("reply")) >= len(users) * per_user, 60)
        with Session(engine) as session:
            beating = session.exec(select(WorkerHeartbeat.holder)).all()
            rows = session.exec(select(WebhookEvent).order_by(WebhookEvent.id)).all()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        engine.dispose()
    assert len(_children(proc.pid)) == 0
    assert len(set(beating)) == (2 if postgres else 1)  # each worker process records its heartbeat
    assert {row.status for row in rows} == {EventStatus.DONE}
    assert len(fake_line.requests_to("reply")) == len(users) * per_user  # each answered exactly once
    for user in users:
        done = [row.processed_at for row in rows if row.source_key == user]
        assert len(done) == per_user
        assert done == sorted(done)  # handled in the order they arrived
    if not postgres:
        assert "SQLite runs one worker process" in log_path.read_text()


def test_with_one_worker_serve_passes_no_share(db_url: str) -> None:
    """TIDTAM_WORKERS defaults to 1: the worker handles every source (no --share)."""
    from tidtam.commands.serve import worker_count
    from tidtam.settings import Settings

    settings = Settings(_env_file=None, TIDTAM_DATABASE_URL=db_url)  # type: ignore[call-arg]
    assert worker_count(settings) == 1
    several = Settings(_env_file=None, TIDTAM_DATABASE_URL=db_url, TIDTAM_WORKERS=3)  # type: ignore[call-arg]
    assert worker_count(several) == (3 if db_url.startswith("postgresql") else 1)
