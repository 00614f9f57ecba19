"""Webhook acknowledge benchmark: the product's `POST /callback` against a bare endpoint that only
checks the signature, on SQLite and on PostgreSQL, measured in the same run.

    .venv/bin/python bench/webhook_bench.py                       # defaults, ~1.5 minutes
    .venv/bin/python bench/webhook_bench.py --events 5000 --concurrency 50 --no-postgres
    .venv/bin/python bench/webhook_bench.py --py-spy var/bench    # also profile the product

Processes: this script hosts the fake LINE platform (the product's replies go there) and builds
pre-signed bodies; the product runs as `python -m tidtam.cli serve --no-migrate` and the bare endpoint
as a tiny FastAPI app under uvicorn whose `/callback` is answered the way the product's is (pure ASGI
middleware in front of the routing, the SDK's signature check, nothing else), each in its own process;
the load comes from `--generators` separate processes (aiohttp with a persistent pool; `--client httpx`
for httpx.AsyncClient, which tops out near 200 requests/s with 50 in flight), so nothing shares a GIL
with the server under test. Each body is one text event from one of `--users` users, with a reply
token the fake issued, so the product does its full work (store, acknowledge, process, reply) during
the run.

Per endpoint and backend it prints: acknowledged events/s and p50/p99 acknowledge latency with
`--concurrency` senders in a closed loop; p50/p99 at a fixed offered rate (`--rate`, open loop:
latency counts from each request's scheduled time, so queueing is not hidden); for the product also
how fast the backlog of the closed-loop burst was processed, and peak RSS (VmHWM); and the CPU each
process spent: the web process per acknowledged event of the burst, the worker per event it handled,
and the cores each party (web, worker, fake LINE, PostgreSQL, load generator) used during the burst.
Both endpoints run at once and their bursts alternate for `--rounds` rounds: the bare endpoint's
own figure moves by a third between runs on a shared host, and alternating makes each round's ratio
compare like with like; the ratio reported is the median of the rounds'.
The fake LINE platform stands in for LINE's servers, whose CPU is not ours in production: its thread
runs at SCHED_IDLE (`--fake-line-priority normal` to give it the CPU it wants).
`--py-spy DIR` records the web process and the worker, one speedscope file each.

Targets (issue): product throughput >= 1/2 of the bare endpoint's, p99 < 50 ms at 300 events/s,
peak RSS < 200 MB — on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pickle
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI  # module level: the bare app's annotations resolve here
from fastapi.responses import JSONResponse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # fakeline

from scratch_db import PostgresUnavailable, scratch_postgres  # noqa: E402
from servers import children, cpu_seconds, free_port, start_server, stop_server  # noqa: E402

PG_ADMIN_URL = os.environ.get("TIDTAM_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TEXT = "ช่วยเหลือ"

TARGET_RATIO = 0.5
TARGET_P99_MS = 50.0
TARGET_RSS_MB = 200.0


# --- child: the bare endpoint ------------------------------------------------------------------------


def serve_bare(port: int) -> None:
    """The product's HMAC check and nothing else, on the product's stack: a FastAPI app whose
    `POST /callback` is answered by pure ASGI middleware in front of its routing, as the product's
    is (bot/webhook.py), under uvicorn, run the way `tidtam serve` runs."""
    import uvicorn
    from linebot.v3.webhook import SignatureValidator

    validator = SignatureValidator(os.environ["LINE_CHANNEL_SECRET"])
    ok = b"{}"
    refused = b'{"error":"invalid signature"}'

    class BareCallback:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http" or scope["path"] != "/callback":
                await self.app(scope, receive, send)
                return
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body", False):
                    break
            signature = next((v for k, v in scope["headers"] if k == b"x-line-signature"), b"")
            answer = ok if validator.validate(body.decode(), signature.decode("latin-1")) else refused
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]
            status = 200 if answer is ok else 400
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": answer})

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(BareCallback)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# --- child: a load generator -------------------------------------------------------------------------


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


async def _generate(job: dict[str, Any]) -> dict[str, Any]:
    with open(job["bodies"], "rb") as fh:
        bodies: list[tuple[bytes, str]] = pickle.load(fh)
    concurrency = max(1, int(job["concurrency"]))
    pool = concurrency if job["mode"] == "closed" else max(concurrency, 200)
    latencies: list[float] = []
    errors: list[str] = []
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "LineBotWebhook/2.0"}
    client = _make_client(job["client"], pool, float(job["request_timeout"]))
    stop_at = time.perf_counter() + float(job["max_seconds"]) + max(0.0, job["start_at"] - time.time())
    try:
        # Open the pool's connections before the clock starts (LINE keeps its connections alive too).
        await asyncio.gather(*(client.get(job["health_url"]) for _ in range(min(pool, 50))))
        delay = job["start_at"] - time.time()
        if delay > 0:
            await asyncio.sleep(delay)

        async def post(body: bytes, signature: str, started: float) -> None:
            try:
                status = await client.post(job["url"], body, {**headers, "X-Line-Signature": signature})
            except Exception as exc:  # counted, not raised: the run goes on
                errors.append(type(exc).__name__)
                return
            if status == 200:
                latencies.append(time.perf_counter() - started)
            else:
                errors.append(f"HTTP {status}")

        cpu0 = time.process_time()
        t0 = time.perf_counter()
        if job["mode"] == "closed":
            items = iter(bodies)

            async def sender() -> None:
                for body, signature in items:
                    if time.perf_counter() > stop_at:
                        return  # bounded run: a slow server gets fewer events, not a longer bench
                    await post(body, signature, time.perf_counter())

            await asyncio.gather(*(sender() for _ in range(concurrency)))
        else:
            interval = 1.0 / float(job["rate"])
            tasks = []
            for i, (body, signature) in enumerate(bodies):
                scheduled = t0 + i * interval
                if scheduled > stop_at:
                    break
                wait = scheduled - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
                tasks.append(asyncio.create_task(post(body, signature, scheduled)))
            await asyncio.gather(*tasks)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
    finally:
        await client.close()
    return {"latencies": latencies, "errors": errors, "wall": wall, "cpu": cpu}


class _AiohttpClient:
    """aiohttp: several times faster than httpx.AsyncClient with 50 requests in flight (httpcore's
    async pool becomes the bottleneck there: ~200 req/s against a bare endpoint that serves ~3,000)."""

    def __init__(self, pool: int, timeout: float) -> None:
        import aiohttp

        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=pool), timeout=aiohttp.ClientTimeout(total=timeout)
        )

    async def get(self, url: str) -> int:
        async with self.session.get(url) as response:
            await response.read()
            return response.status

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        async with self.session.post(url, data=body, headers=headers) as response:
            await response.read()
            return response.status

    async def close(self) -> None:
        await self.session.close()


class _HttpxClient:
    def __init__(self, pool: int, timeout: float) -> None:
        import httpx

        limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
        self.client = httpx.AsyncClient(limits=limits, timeout=timeout, trust_env=False)

    async def get(self, url: str) -> int:
        return (await self.client.get(url)).status_code

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        return (await self.client.post(url, content=body, headers=headers)).status_code

    async def close(self) -> None:
        await self.client.aclose()


def _make_client(kind: str, pool: int, timeout: float) -> _AiohttpClient | _HttpxClient:
    return _HttpxClient(pool, timeout) if kind == "httpx" else _AiohttpClient(pool, timeout)


def generate() -> None:
    job = json.loads(sys.stdin.read())
    try:
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            result = runner.run(_generate(job))
    except ImportError:
        result = asyncio.run(_generate(job))
    print(json.dumps(result))


# --- the orchestrator ---------------------------------------------------------------------------------


@dataclass
class Load:
    events: int = 0
    ok: int = 0
    errors: int = 0
    wall: float = 0.0
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    generator_cpu: float = 0.0  # share of one core the generators used
    # CPU seconds each probed party used during the load
    cpu_used: dict[str, float] = field(default_factory=dict)
    error_kinds: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.ok / self.wall if self.wall else 0.0


@dataclass(frozen=True)
class EventCounts:
    pending: int = 0
    done: int = 0
    failed: int = 0


@dataclass
class Row:
    """One endpoint on one backend: its closed-loop bursts (one per round) and its open-loop phase."""

    backend: str
    endpoint: str
    bursts: list[Load] = field(default_factory=list)
    paced: Load = field(default_factory=Load)
    rss_mb: float = float("nan")
    web_cpu_ms: list[float] = field(default_factory=list)  # web process CPU per acknowledged event
    worker_cpu_ms: list[float] = field(default_factory=list)  # worker CPU per event it processed
    processed_per_s: list[float] = field(default_factory=list)
    events: EventCounts | None = None
    # Cores each party used during each burst (1.0 = one core busy for the whole burst).
    burst_cores: list[dict[str, float]] = field(default_factory=list)

    def add_burst(
        self,
        burst: Load,
        *,
        web_cpu: float,
        worker_cpu_ms: float | None = None,
        processed_per_s: float | None = None,
    ) -> None:
        self.bursts.append(burst)
        self.web_cpu_ms.append(1000 * web_cpu / max(1, burst.ok))
        if worker_cpu_ms is not None:
            self.worker_cpu_ms.append(worker_cpu_ms)
        if processed_per_s is not None:
            self.processed_per_s.append(processed_per_s)
        if burst.cpu_used and burst.wall:
            cores = {k: v / burst.wall for k, v in burst.cpu_used.items()}
            self.burst_cores.append({**cores, "load generator": burst.generator_cpu})

    @property
    def burst(self) -> Load:
        """The round with the median throughput."""
        return sorted(self.bursts, key=lambda load: load.rate)[len(self.bursts) // 2]


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        from fakeline import FakeLine, sign

        self.args = args
        self.workdir = workdir
        self.sign = sign
        self.fake = FakeLine(reply_token_ttl=3600.0).start()
        if args.fake_line_priority == "idle" and self.fake.server_thread is not None:
            # The fake stands in for LINE's servers, whose CPU is not ours in production: it takes only
            # CPU the product and the load generator leave (the thread's own scheduling policy).
            tid = self.fake.server_thread.native_id
            os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
        self.users = [self.fake.add_user(f"ครู {i}") for i in range(args.users)]
        self._n = 0

    def close(self) -> None:
        self.fake.stop()

    # -- bodies ------------------------------------------------------------------------------------
    def bodies(self, count: int) -> Path:
        """`count` signed one-event bodies with fresh event ids and reply tokens, pickled for the generators."""
        out: list[tuple[bytes, str]] = []
        for i in range(count):
            event = self.fake.text_event(self.users[(self._n + i) % len(self.users)], TEXT)
            payload = {"destination": self.fake.bot_user_id, "events": [event]}
            if self._n == 0 and i == 0:
                self.fake.payload(event)  # validated against webhook.yml once; the rest share its shape
            body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
            out.append((body, self.sign(self.fake.channel_secret, body)))
        self._n += count
        path = self.workdir / f"bodies-{uuid.uuid4().hex[:8]}.pickle"
        with open(path, "wb") as fh:
            pickle.dump(out, fh)
        return path

    # -- processes ---------------------------------------------------------------------------------
    def start(self, argv: list[str], env: dict[str, str], port: int, name: str) -> subprocess.Popen[bytes]:
        return start_server(argv, env, port, self.workdir / f"{name}.log", ROOT, wait=30)

    def env(self, database_url: str = "sqlite:///unused") -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            TIDTAM_DATABASE_URL=database_url,
            LINE_CHANNEL_SECRET=self.fake.channel_secret,
            LINE_CHANNEL_ACCESS_TOKEN=self.fake.access_token,
            LINE_API_BASE_URL=self.fake.base_url,
            LINE_DATA_API_BASE_URL=self.fake.base_url,
            TIDTAM_MEDIA_DIR=str(self.workdir / "media"),
            TIDTAM_LOG_LEVEL="warning",
        )
        if self.args.event_workers is not None:
            env["TIDTAM_EVENT_WORKERS"] = str(self.args.event_workers)
        return env

    stop = staticmethod(stop_server)
    cpu_seconds = staticmethod(cpu_seconds)

    def fake_cpu_seconds(self) -> float:
        """CPU of the fake LINE platform's server thread (it runs in this process)."""
        tid = self.fake.server_thread.native_id if self.fake.server_thread is not None else None
        try:
            fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def postgres_cpu_seconds() -> float:
        """CPU of every PostgreSQL server process on this machine (readable as root; else 0)."""
        total = 0.0
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                        total += Bench.cpu_seconds(int(entry.name))
                except OSError:
                    continue
        return total

    def snapshot(self, web: int, workers: list[int]) -> dict[str, float]:
        """CPU seconds so far of each party in a run: web, worker, fake LINE (this process), PostgreSQL."""
        return {
            "web": self.cpu_seconds(web),
            "worker": sum(map(self.cpu_seconds, workers)),
            "fake LINE": self.fake_cpu_seconds(),
            "PostgreSQL": self.postgres_cpu_seconds(),
        }

    children = staticmethod(children)

    @staticmethod
    def peak_rss_mb(pid: int) -> float:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    # -- load --------------------------------------------------------------------------------------
    def load(
        self, port: int, mode: str, count: int, probe: Callable[[], dict[str, float]] | None = None
    ) -> Load:
        """Run the load generators; `probe` (CPU seconds of the parties of interest) is read when the
        load starts and when it ends, so their CPU during the load alone is known."""
        k = max(1, self.args.generators)
        everything = pickle.loads(self.bodies(count).read_bytes())
        start_at = time.time() + 1.5
        procs = []
        for g in range(k):
            part = self.workdir / f"part-{g}-{uuid.uuid4().hex[:6]}.pickle"
            part.write_bytes(pickle.dumps(everything[g::k]))
            job = {
                "url": f"http://127.0.0.1:{port}/callback",
                "health_url": f"http://127.0.0.1:{port}/healthz",
                "bodies": str(part),
                "mode": mode,
                "concurrency": self.args.concurrency // k if mode == "closed" else 50,
                "rate": self.args.rate / k,
                "start_at": start_at,
                "max_seconds": self.args.max_seconds if mode == "closed" else self.args.rate_seconds,
                # LINE gives up on a webhook after a few seconds; a later answer is an error anyway.
                "request_timeout": 10.0,
                "client": self.args.client,
            }
            proc = subprocess.Popen(
                [sys.executable, __file__, "--generate"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                cwd=ROOT,
            )
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(job).encode())
            proc.stdin.close()
            procs.append(proc)
        before: dict[str, float] = {}
        if probe is not None:
            time.sleep(max(0.0, start_at - time.time()))
            before = probe()
        results = []
        for proc in procs:
            assert proc.stdout is not None
            out = proc.stdout.read()
            proc.wait(timeout=600)
            results.append(json.loads(out))
        after = probe() if probe is not None else {}
        latencies = sorted(x for r in results for x in r["latencies"])
        errors = [e for r in results for e in r["errors"]]
        wall = max(r["wall"] for r in results)
        return Load(
            events=count,
            ok=len(latencies),
            errors=len(errors),
            wall=wall,
            p50_ms=_percentile(latencies, 0.50) * 1000,
            p99_ms=_percentile(latencies, 0.99) * 1000,
            generator_cpu=sum(r["cpu"] for r in results) / wall if wall else 0.0,
            error_kinds=sorted(set(errors))[:5],
            cpu_used={k: after[k] - before[k] for k in before},
        )

    # -- runs --------------------------------------------------------------------------------------
    def compare(self, backend: str, url: str) -> tuple[Row, Row]:
        """The bare endpoint and the product on one backend. Both run at once and their bursts
        alternate (bare, product, bare, product, ...) for `--rounds` rounds, so a machine whose speed
        drifts during the run (a shared host) weighs on both alike; the ratio is the median of the
        rounds' ratios. Then each one's open-loop phase."""
        from models.db import make_engine

        bare_port, port = free_port(), free_port()
        argv = [sys.executable, "-m", "tidtam.cli", "serve", "--port", str(port), "--no-migrate"]
        spies: list[subprocess.Popen[bytes]] = []
        bare_proc = self.start(
            [sys.executable, __file__, "--serve-bare", str(bare_port)], self.env(), bare_port, "bare"
        )
        engine = make_engine(url, pool_size=1, max_overflow=0)
        idle = 0 if self.args.event_workers == 0 else 1  # with no workers nothing drains: do not wait
        bare = Row(backend, "bare")
        product = Row(backend, "product")
        try:
            proc = self.start(argv, self.env(url), port, f"product-{backend}")
            try:
                self.load(bare_port, "closed", min(300, self.args.events))
                self.load(port, "closed", min(300, self.args.events))
                self.drain(engine, timeout=idle * 60)
                if self.args.py_spy:
                    targets = [(proc.pid, f"web-{backend}")]
                    targets += [(pid, f"worker-{backend}") for pid in self.children(proc.pid)]
                    spies = [spy for pid, name in targets if (spy := self.start_py_spy(pid, name))]
                workers = self.children(proc.pid)
                for _ in range(max(1, self.args.rounds)):
                    cpu = self.cpu_seconds(bare_proc.pid)
                    burst = self.load(bare_port, "closed", self.args.events)
                    bare.add_burst(burst, web_cpu=self.cpu_seconds(bare_proc.pid) - cpu)

                    before = self.drain(engine, timeout=0)
                    web_cpu, worker_cpu = self.cpu_seconds(proc.pid), sum(map(self.cpu_seconds, workers))
                    burst = self.load(
                        port, "closed", self.args.events, lambda: self.snapshot(proc.pid, workers)
                    )
                    web_cpu = self.cpu_seconds(proc.pid) - web_cpu
                    started = time.perf_counter()
                    after = self.drain(engine, timeout=idle * self.args.drain_seconds)
                    drained = time.perf_counter() - started
                    worker_cpu = sum(map(self.cpu_seconds, workers)) - worker_cpu
                    processed = after.done - before.done
                    product.add_burst(
                        burst,
                        web_cpu=web_cpu,
                        worker_cpu_ms=1000 * worker_cpu / max(1, processed),
                        # Events processed (handled, replied to) during the burst and the drain after it.
                        processed_per_s=processed / (burst.wall + drained),
                    )
                    self.drain(engine, timeout=idle * 60)  # the next phase starts without a backlog
                bare.paced = self.load(bare_port, "open", int(self.args.rate * self.args.rate_seconds))
                product.paced = self.load(port, "open", int(self.args.rate * self.args.rate_seconds))
                product.events = self.drain(engine, timeout=idle * self.args.drain_seconds)
                bare.rss_mb = self.peak_rss_mb(bare_proc.pid)
                product.rss_mb = self.peak_rss_mb(proc.pid)
            finally:
                for spy in spies:
                    spy.send_signal(signal.SIGINT)
                    spy.wait(timeout=60)
                self.stop(proc)
        finally:
            self.stop(bare_proc)
            engine.dispose()
        return bare, product

    def start_py_spy(self, pid: int, name: str) -> subprocess.Popen[bytes] | None:
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if not Path(spy).exists():
            print("py-spy not found: pip install py-spy into the venv", file=sys.stderr)
            return None
        out = Path(self.args.py_spy) / f"{name}.speedscope.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        proc = subprocess.Popen(
            [
                spy,
                "record",
                "--pid",
                str(pid),
                "--threads",
                "--format",
                "speedscope",
                "-o",
                str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)
        print(f"py-spy recording {name} to {out}")
        return proc

    @staticmethod
    def drain(engine: Any, timeout: float) -> EventCounts:
        """Wait (up to `timeout` s) until the product has processed every stored event."""
        import sqlalchemy as sa

        deadline = time.monotonic() + timeout
        while True:
            with engine.connect() as conn:
                counts = dict(
                    conn.execute(sa.text("SELECT status, COUNT(*) FROM webhook_event GROUP BY status")).all()
                )
            result = EventCounts(counts.get("pending", 0), counts.get("done", 0), counts.get("failed", 0))
            if not result.pending or time.monotonic() >= deadline:
                return result
            time.sleep(0.05)


def sqlite_url(workdir: Path) -> str:
    from tidtam import migrate

    url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    migrate.upgrade(url)
    return url


def print_table(rows: list[Row], args: argparse.Namespace) -> None:
    print()
    print(
        f"closed loop: up to {args.events} events or {args.max_seconds:g} s, {args.concurrency} concurrent senders; "
        f"open loop: {args.rate:g} events/s for {args.rate_seconds:g} s"
    )
    header = (
        f"{'backend':10} {'endpoint':8} | {'ack/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'err':>4} {'gen cpu':>7} | "
        f"{'@rate/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'err':>4} | {'proc/s':>7} {'RSS MB':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        proc = f"{_median(r.processed_per_s):7.0f}" if r.endpoint == "product" else f"{'-':>7}"
        print(
            f"{r.backend:10} {r.endpoint:8} | {r.burst.rate:7.0f} {r.burst.p50_ms:7.1f} {r.burst.p99_ms:7.1f} "
            f"{r.burst.errors:4d} {r.burst.generator_cpu:6.0%} | {r.paced.rate:7.0f} {r.paced.p50_ms:7.1f} "
            f"{r.paced.p99_ms:7.1f} {r.paced.errors:4d} | {proc} {r.rss_mb:7.0f}"
        )
        for kind in r.burst.error_kinds + r.paced.error_kinds:
            print(f"    error: {kind}")
        print(f"    ack/s of each round: {', '.join(f'{b.rate:.0f}' for b in r.bursts)}")
        cpu = f"    CPU: web process {_median(r.web_cpu_ms):.3f} ms per acknowledged event in the burst"
        if r.endpoint == "product":
            cpu += f"; worker process {_median(r.worker_cpu_ms):.2f} ms per event processed"
        print(cpu)
        if r.burst_cores:
            print(
                "    cores used during the burst: "
                + ", ".join(f"{k} {_median([c[k] for c in r.burst_cores]):.2f}" for k in r.burst_cores[0])
            )
        if r.events is not None:
            print(
                f"    stored events at the end: {r.events.done} done, {r.events.failed} failed, "
                f"{r.events.pending} still pending"
            )
    print()
    print("targets:")
    for backend in dict.fromkeys(r.backend for r in rows):
        bare = next((r for r in rows if r.backend == backend and r.endpoint == "bare"), None)
        product = next((r for r in rows if r.backend == backend and r.endpoint == "product"), None)
        if bare is None or product is None:
            continue
        ratios = [
            p.rate / b.rate if b.rate else 0.0 for b, p in zip(bare.bursts, product.bursts, strict=True)
        ]
        ratio = _median(ratios)
        checks = [
            (
                f"throughput {ratio:.0%} of bare, median of rounds {', '.join(f'{x:.0%}' for x in ratios)} "
                f"(>= {TARGET_RATIO:.0%})",
                ratio >= TARGET_RATIO,
            ),
            (
                f"p99 {product.paced.p99_ms:.1f} ms at {args.rate:g}/s (< {TARGET_P99_MS:g} ms)",
                product.paced.p99_ms < TARGET_P99_MS and product.paced.errors == 0,
            ),
            (f"peak RSS {product.rss_mb:.0f} MB (< {TARGET_RSS_MB:g} MB)", product.rss_mb < TARGET_RSS_MB),
        ]
        for label, met in checks:
            print(f"  {backend:10} {'MET   ' if met else 'MISSED'} {label}")
    print()
    print(
        "gen cpu: CPU the load generators used (100% = one core); near 100% would mean the generators, "
        "not the server, set the pace.\nproc/s: events fully processed (handled and replied to) per second "
        "over the burst and its backlog."
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=2000, help="events in the closed-loop burst")
    parser.add_argument("--concurrency", type=int, default=50, help="concurrent senders in the burst")
    parser.add_argument("--rate", type=float, default=300.0, help="offered rate of the open-loop phase")
    parser.add_argument("--rate-seconds", type=float, default=8.0, help="length of the open-loop phase")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=10.0,
        help="cap on the burst's length (a slow server gets fewer events)",
    )
    parser.add_argument(
        "--drain-seconds", type=float, default=15.0, help="wait for the backlog at most this long"
    )
    parser.add_argument(
        "--event-workers",
        type=int,
        default=None,
        help="TIDTAM_EVENT_WORKERS for the product (0: acknowledge and store only)",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating bursts of the bare endpoint and the product"
    )
    parser.add_argument("--users", type=int, default=500, help="distinct LINE users sending")
    parser.add_argument("--generators", type=int, default=1, help="load generator processes")
    parser.add_argument(
        "--client", choices=["aiohttp", "httpx"], default="aiohttp", help="HTTP client of the load generators"
    )
    parser.add_argument(
        "--fake-line-priority",
        choices=["idle", "normal"],
        default="idle",
        help="CPU priority of the fake LINE platform's thread (idle: it stands in for LINE's own servers)",
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--py-spy", metavar="DIR", help="record the product with py-spy into DIR")
    parser.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return
    if args.generate:
        generate()
        return

    print(f"cpus: {os.cpu_count()}, load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    started = time.perf_counter()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="tidtam-webhook-bench-") as tmp:
        bench = Bench(args, Path(tmp))
        try:
            if not args.no_sqlite:
                rows.extend(bench.compare("sqlite", sqlite_url(Path(tmp))))
            if not args.no_postgres:
                try:
                    with scratch_postgres(PG_ADMIN_URL) as url:
                        rows.extend(bench.compare("postgresql", url))
                except PostgresUnavailable as exc:
                    print(f"postgresql: skipped, {exc}")
            violations = bench.fake.unexpected_violations()
        finally:
            bench.close()
    print_table(rows, args)
    if violations:
        print(f"\nthe fake LINE platform refused {len(violations)} request(s), e.g. {violations[0]}")
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
