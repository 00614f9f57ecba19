"""What the bench scripts share about the processes they start: a server waited for until its
`/healthz` answers and stopped afterwards, a process's CPU seconds, its children, a free port,
percentiles, a py-spy recording."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def start_server(
    command: list[str], env: dict[str, str], port: int, log_path: Path, cwd: Path, *, wait: float = 60.0
) -> subprocess.Popen[bytes]:
    """Start a server process (its output to `log_path`) and return it once `/healthz` on `port`
    answers 200; raises (the process stopped) when it exits first or does not answer in `wait` s."""
    import httpx

    log = open(log_path, "wb")  # noqa: SIM115 - the process keeps it; closed when it ends
    proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    deadline = time.monotonic() + wait
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{' '.join(command[2:4])} exited: {log_path.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            stop_server(proc)
            raise RuntimeError(f"{' '.join(command[2:4])} did not become healthy")
        time.sleep(0.1)


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT (uvicorn's graceful stop, which also stops the worker it started), then kill after 20 s."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


@contextmanager
def serving(command: list[str], env: dict[str, str], port: int, log_path: Path, cwd: Path) -> Iterator[int]:
    """A server process for the block (the product or a reference app); yields its pid once healthy."""
    proc = start_server(command, env, port, log_path, cwd)
    try:
        yield proc.pid
    finally:
        stop_server(proc)


@contextmanager
def profiling(
    pid: int | None, folder: str | None, name: str, rate: int = 250, *, gil: bool = False
) -> Iterator[None]:
    """py-spy records process `pid` into `folder/<name>.txt` (raw collapsed stacks, a bench's
    `--py-spy DIR`) while the block runs; nothing without a pid or a folder. With `gil`, only the
    thread holding the interpreter lock is sampled: where the CPU goes, not where threads wait."""
    if pid is None or folder is None:
        yield
        return
    out = Path(folder).resolve() / f"{name.replace(' ', '-')}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    spy = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--format",
            "raw",
            "-o",
            str(out),
            "--pid",
            str(pid),
            "--rate",
            str(rate),
            "--nonblocking",
            *(["--gil"] if gil else []),
            *(["--idle"] if os.environ.get("BENCH_PY_SPY_IDLE") else []),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)
