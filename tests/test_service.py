"""`tidtam serve` starts a real service whose /healthz answers (the path `make run` takes)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_migrates_and_answers_healthz(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "TIDTAM_DATABASE_URL": f"sqlite:///{tmp_path / 'svc.sqlite3'}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tidtam.cli", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        body = None
        for _ in range(150):  # bounded: at most ~15 s
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                body = response.json()
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert body == {"status": "ok", "database": "sqlite"}
        assert (tmp_path / "svc.sqlite3").exists()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
