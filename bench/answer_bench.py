"""Event → answer benchmark: how long a person waits for the bot's answer, beside line-bot-sdk's echo bot.

    .venv/bin/python bench/answer_bench.py                        # both backends and the echo reference
    .venv/bin/python bench/answer_bench.py --burst 500 --seconds 5 --no-postgres

What a person feels is the time from their message to the bot's answer, not the webhook's
acknowledgement. This script hosts the LINE emulator (the product's answers go there; its server
thread runs at SCHED_IDLE, since LINE's CPU is not ours in production) and builds the signed bodies;
the load comes from `--generators` separate processes (aiohttp, a persistent pool), so neither the
emulator nor the load shares an interpreter with what it measures. The product runs as
`python -m tidtam.cli serve --no-migrate` (its web process and the worker process or processes it
starts: `--workers`, TIDTAM_WORKERS), the reference as line-bot-sdk's fastapi-echo example
(signature check, then `reply_message` of the same text through `AsyncMessagingApi`, inline) under
uvicorn, each in its own processes.

The office is a generated one (`--schools`, tidtam/workbook/demo.py) with every person linked to a
LINE user, so each event is real work: a linked person's `สถานะ`, a menu word, or a form step
(`รายงานผล`, then `ยกเลิก`), cycling per person. Each event carries a reply token the emulator issued;
an event's answer is the reply that used its token (an answer that came as a push instead counts as
late: the token had expired). Latency is from the event's send (its scheduled time, in the open-loop
runs, so queueing is not hidden) to the emulator's receipt of the reply.

Per target it prints: a burst of `--burst` events sent by `--concurrency` senders as fast as they go
(answered events/s from the first send to the last answer; p50/p99); open-loop runs at each of
`--rates` events/s for `--seconds` s (p50/p99/max, how long after the load the last answer came: a
run that keeps up answers within a second; one that falls behind keeps answering long after); and
for the product the worker's CPU per handled event (answered by reply or, late, by push), and per
event sent the web process's (the echo reference's whole process, for it), PostgreSQL's backends'
(db) and this process's (line: the emulator answering, and building the load). Lost
(not answered within `--settle` s) and duplicated (a token answered twice) events are counted for
every run, and the machine's load average at the end (the machine is shared: CPU per event is the
figure its load moves least).

Targets (issue 18): burst answered/s >= 1.0x the echo reference's on SQLite and PostgreSQL; at 100
events/s p99 < 250 ms; at 250 events/s p99 < 1 s and nothing falling behind; worker CPU per handled
event < 1.5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scratch_db import PostgresUnavailable, scratch_postgres  # noqa: E402
from servers import children, cpu_seconds, free_port, percentile, profiling, serving  # noqa: E402

PG_ADMIN_URL = os.environ.get("TIDTAM_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SCRIPT = ("สถานะ", "โครงการของฉัน", "รายงานผล", "ยกเลิก", "ช่วยเหลือ")
ECHO_APP = '''
"""line-bot-sdk's examples/fastapi-echo, pointed at the emulator (Configuration host)."""
import os
from fastapi import FastAPI, HTTPException, Request
from linebot.v3 import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.messaging import AsyncApiClient, AsyncMessagingApi, Configuration, ReplyMessageRequest, TextMessage
from linebot.v3.webhooks import MessageEvent, TextMessageContent

from contextlib import asynccontextmanager

configuration = Configuration(access_token=os.environ["LINE_CHANNEL_ACCESS_TOKEN"], host=os.environ["LINE_API_BASE_URL"])
parser = WebhookParser(os.environ["LINE_CHANNEL_SECRET"])
line_bot_api = None


@asynccontextmanager
async def lifespan(app):
    # The example builds its client at import; today's aiohttp wants a running loop for that.
    global line_bot_api
    async_api_client = AsyncApiClient(configuration)
    line_bot_api = AsyncMessagingApi(async_api_client)
    yield
    await async_api_client.close()


app = FastAPI(lifespan=lifespan)


@app.post("/callback")
async def handle_callback(request: Request):
    signature = request.headers["X-Line-Signature"]
    body = (await request.body()).decode()
    try:
        events = parser.parse(body, signature)
    except InvalidSignatureError:
        raise HTTPException(status_code=400, detail="Invalid signature")
    for event in events:
        if not isinstance(event, MessageEvent) or not isinstance(event.message, TextMessageContent):
            continue
        await line_bot_api.reply_message(
            ReplyMessageRequest(reply_token=event.reply_token, messages=[TextMessage(text=event.message.text)])
        )
    return "OK"


@app.get("/healthz")
async def healthz():
    return {"status": "ok"}
'''


@dataclass
class Run:
    """One load against one target."""

    label: str
    sent: int = 0
    answered: int = 0
    late: int = 0  # answered by a push: the reply token had expired
    duplicated: int = 0
    errors: int = 0  # webhooks not acknowledged 200 after three tries
    latencies: list[float] = field(default_factory=list)  # seconds
    first_send: float = 0.0
    last_answer: float = 0.0
    load_end: float = 0.0
    worker_cpu: float | None = None  # seconds, the product's worker during the run
    web_cpu: float | None = None  # seconds, the product's web process during the run
    db_cpu: float | None = None  # seconds, PostgreSQL's backends serving the product's database
    line_cpu: float | None = None  # seconds, this process: the LINE emulator (and building the load)
    commits: int | None = None  # PostgreSQL: transactions committed in the product's database
    idle: float | None = None  # the machine's idle share of its CPUs from the first send to the last answer

    @property
    def per_second(self) -> float:
        span = self.last_answer - self.first_send
        return self.answered / span if span > 0 else float("nan")

    @property
    def lost(self) -> int:
        return self.sent - self.answered - self.late

    @property
    def tail(self) -> float:
        """Seconds from the end of the load to the last answer."""
        return max(0.0, self.last_answer - self.load_end)


@dataclass
class Target:
    name: str
    runs: list[Run] = field(default_factory=list)
    error: str | None = None


# --- the office and its people ---------------------------------------------------------------------


def seed(database_url: str, schools: int) -> list[str]:
    """Import a generated office and link everyone; returns the LINE user ids of the linked people."""
    from sqlmodel import Session, col, select

    from models import Person
    from models.db import make_engine
    from scheduler.clock import SystemClock, local_today
    from scheduler.fiscal import fiscal_year_of
    from tidtam.settings import Settings
    from tidtam.simulator.people import link_demo_people
    from tidtam.workbook import demo as demo_data
    from tidtam.workbook import import_source

    engine = make_engine(database_url)
    clock = SystemClock()
    fy = fiscal_year_of(local_today(clock, Settings(_env_file=None).tz))  # type: ignore[call-arg]
    source, _ = demo_data.demo_source(schools, 1, fy)
    import_source(source, engine, clock, label=f"bench-{schools}")
    link_demo_people(engine, clock.now())
    with Session(engine) as session:
        users = [
            u for u in session.exec(select(Person.line_user_id).where(col(Person.line_user_id).is_not(None)))
        ]
    if engine.dialect.name == "postgresql":
        # Statistics, as autovacuum gives a production database a minute after an import (this
        # machine's server runs without it): without them PostgreSQL plans the sender's row with a
        # hashed subplan over every project, 2 ms a message instead of 0.2.
        import sqlalchemy as sa

        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
    engine.dispose()
    return [str(u) for u in users]


# --- the servers -----------------------------------------------------------------------------------


# --- the load --------------------------------------------------------------------------------------


class Load:
    """Signed webhook bodies from the emulator, sent to one target, answers matched by reply token."""

    def __init__(self, emulator: Any, users: list[str], url: str) -> None:
        from tidtam.emulator.events import sign

        self.emulator, self.users, self.url, self.sign = emulator, users, url, sign
        self.next_step = dict.fromkeys(users, 0)
        self.turn = 0

    def body(self) -> tuple[str, bytes, str]:
        """The next person's next message: (reply token, body, signature)."""
        user = self.users[self.turn % len(self.users)]
        self.turn += 1
        step = self.next_step[user]
        self.next_step[user] = step + 1
        event = self.emulator.text_event(user, SCRIPT[step % len(SCRIPT)])
        raw = json.dumps(
            {"destination": self.emulator.bot_user_id, "events": [event]},
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        return event["replyToken"], raw, self.sign(self.emulator.channel_secret, raw)

    def send(
        self, count: int, run: Run, sent: dict[str, float], args: argparse.Namespace, rate: float | None
    ) -> None:
        """Send `count` bodies from `args.generators` generator processes: a burst (`rate` None: each
        process's share of `args.concurrency` senders as fast as they go) or open loop at `rate`
        events/s in all. `sent` gets each reply token's send time (its scheduled time, open loop)."""
        bodies = [self.body() for _ in range(count)]
        k = max(1, args.generators)
        start_at = time.time() + 1.5  # every generator has started and opened its connections by then
        procs = []
        with tempfile.TemporaryDirectory(prefix="tidtam-answer-load-") as tmp:
            for g in range(k):
                part = Path(tmp) / f"part-{g}.pickle"
                part.write_bytes(pickle.dumps(bodies[g::k]))
                job = {
                    "url": self.url,
                    "bodies": str(part),
                    "concurrency": max(1, args.concurrency // k),
                    "rate": rate,
                    "index": g,
                    "generators": k,
                    "start_at": start_at,
                }
                proc = subprocess.Popen(
                    [sys.executable, __file__, "--generate"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
                )
                assert proc.stdin is not None
                proc.stdin.write(json.dumps(job).encode())
                proc.stdin.close()
                procs.append(proc)
            results = []
            for proc in procs:
                assert proc.stdout is not None
                results.append(json.loads(proc.stdout.read()))
                proc.wait(timeout=60)
        for result in results:
            sent.update(result["sent"])
            run.errors += result["errors"]
        run.sent = count
        run.first_send = min(sent.values(), default=start_at)
        run.load_end = max(r["ended"] for r in results) if rate is None else start_at + count / rate


async def _generate(job: dict[str, Any]) -> dict[str, Any]:
    """One generator process: post its bodies (a burst, or open loop), report each token's send time."""
    import aiohttp

    with open(job["bodies"], "rb") as fh:
        bodies: list[tuple[str, bytes, str]] = pickle.load(fh)
    rate, k, index = job["rate"], job["generators"], job["index"]
    pool = job["concurrency"] if rate is None else 200
    sent: dict[str, float] = {}
    errors = 0
    connector = aiohttp.TCPConnector(limit=pool)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as client:

        async def post(token: str, body: bytes, signature: str, at: float) -> None:
            nonlocal errors
            sent[token] = at
            headers = {"Content-Type": "application/json", "X-Line-Signature": signature}
            for _ in range(3):
                try:
                    async with client.post(job["url"], data=body, headers=headers) as response:
                        await response.read()
                        if response.status == 200:
                            return
                except (TimeoutError, aiohttp.ClientError):
                    await asyncio.sleep(0.05)  # a refused connection under load: try again, briefly
            errors += 1

        await asyncio.sleep(max(0.0, job["start_at"] - time.time()))
        if rate is None:
            items = iter(bodies)

            async def sender() -> None:
                for token, body, signature in items:
                    await post(token, body, signature, time.time())

            await asyncio.gather(*(sender() for _ in range(job["concurrency"])))
        else:
            tasks = []
            for j, (token, body, signature) in enumerate(bodies):
                at = job["start_at"] + (j * k + index) / rate
                await asyncio.sleep(max(0.0, at - time.time()))
                tasks.append(asyncio.create_task(post(token, body, signature, at)))
            await asyncio.gather(*tasks)
    return {"sent": sent, "errors": errors, "ended": time.time()}


def generate() -> None:
    job = json.loads(sys.stdin.read())
    print(json.dumps(asyncio.run(_generate(job))))


class IdleGauge:
    """The machine's idle CPU share over a stretch of wall time: /proc/stat sampled every 20 ms on a
    thread of its own (what the whole machine left unused while a run was under way: how much of the
    two cores the pipeline did not keep busy)."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, int, int]] = []  # (time.time(), idle jiffies, all jiffies)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="idle-gauge", daemon=True)

    def __enter__(self) -> IdleGauge:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            try:
                with open("/proc/stat", encoding="ascii") as stat:
                    fields = [int(x) for x in stat.readline().split()[1:]]
            except OSError:
                return
            self.samples.append((time.time(), fields[3] + fields[4], sum(fields[:8])))

    def share(self, since: float, until: float) -> float | None:
        inside = [sample for sample in self.samples if since <= sample[0] <= until]
        if len(inside) < 2 or inside[-1][2] == inside[0][2]:
            return None
        return (inside[-1][1] - inside[0][1]) / (inside[-1][2] - inside[0][2])


def collect(emulator: Any, sent: dict[str, float], run: Run, *, settle: float, users: set[str]) -> None:
    """Wait (bounded) until every event was answered, then read the answers off the emulator."""
    deadline = time.time() + settle
    while time.time() < deadline:
        answered = {d.reply_token for d in emulator.deliveries if d.reply_token in sent}
        if len(answered) >= len(sent):
            break
        time.sleep(0.2)
    seen: set[str] = set()
    for delivery in list(emulator.deliveries):
        token = delivery.reply_token
        if token in sent:
            if token in seen:
                run.duplicated += 1
                continue
            seen.add(token)
            run.latencies.append(delivery.time - sent[token])
            run.last_answer = max(run.last_answer, delivery.time)
    run.answered = len(seen)
    pushed_to = [
        d for d in emulator.deliveries if d.kind == "push" and d.to in users and d.time >= run.first_send
    ]
    run.late = min(len(pushed_to), run.sent - run.answered)


def _backends_cpu(database_url: str | None) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to the product's database (the server
    runs on this machine); empty for SQLite or the echo reference."""
    if database_url is None or not database_url.startswith("postgresql"):
        return {}
    import sqlalchemy as sa

    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            pids = conn.execute(
                sa.text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid()"
                )
            ).scalars()
            return {int(pid): cpu_seconds(int(pid)) for pid in pids}
    finally:
        engine.dispose()


def _commits(database_url: str | None) -> int | None:
    """Transactions committed so far in the product's PostgreSQL database (None for SQLite)."""
    if database_url is None or not database_url.startswith("postgresql"):
        return None
    import sqlalchemy as sa

    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_stat_clear_snapshot()"))
            return int(
                conn.execute(
                    sa.text("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
                ).scalar_one()
            )
    finally:
        engine.dispose()


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(
    name: str,
    emulator: Any,
    users: list[str],
    url: str,
    args: argparse.Namespace,
    workers: list[int],
    web: int | None = None,
    database_url: str | None = None,
) -> Target:
    target = Target(name)
    load = Load(emulator, users, url)
    plans: list[tuple[str, Any]] = [("burst", None), *((f"{rate:g}/s", rate) for rate in args.rates)]
    for label, rate in plans:
        emulator.deliveries.clear()
        sent: dict[str, float] = {}
        run = Run(label)
        cpu0 = sum(map(cpu_seconds, workers)) if workers else None
        web0 = cpu_seconds(web) if web is not None else None
        db0 = _backends_cpu(database_url)
        line0 = _self_cpu()
        commits0 = _commits(database_url)
        with IdleGauge() as gauge:
            load.send(args.burst if rate is None else int(rate * args.seconds), run, sent, args, rate)
            collect(emulator, sent, run, settle=args.settle, users=set(users))
        run.idle = gauge.share(run.first_send, run.last_answer)
        if commits0 is not None:
            time.sleep(0.6)  # the statistics collector's report lags the commits (PGSTAT_STAT_INTERVAL)
            run.commits = (_commits(database_url) or 0) - commits0
        if os.environ.get("BENCH_TIMELINE") and run.latencies:
            answered_at = sorted(
                d.time - run.first_send for d in emulator.deliveries if d.reply_token in sent
            )
            marks = [answered_at[int(q * (len(answered_at) - 1))] for q in (0.0, 0.25, 0.5, 0.75, 1.0)]
            idles = [
                f"{gauge.share(run.first_send + a, run.first_send + b) or 0:.0%}"
                for a, b in zip([0.0, *marks], marks, strict=False)
            ]
            print(
                f"{name} {label}: load sent by {run.load_end - run.first_send:.2f} s; answers at "
                + " / ".join(f"{m:.2f}" for m in marks)
                + f" s (0/25/50/75/100%); idle before the first answer, then in each quarter: {' '.join(idles)}",
                file=sys.stderr,
            )
        if workers and cpu0 is not None:
            run.worker_cpu = sum(map(cpu_seconds, workers)) - cpu0
        if web is not None and web0 is not None:
            run.web_cpu = cpu_seconds(web) - web0
        run.line_cpu = _self_cpu() - line0
        if db0:
            # A backend that ended during the run is not counted (the product keeps its pool).
            run.db_cpu = sum(cpu - db0.get(pid, 0.0) for pid, cpu in _backends_cpu(database_url).items())
        target.runs.append(run)
        time.sleep(1.0)  # let the previous run's stragglers finish
    return target


def run_target(name: str, database_url: str | None, args: argparse.Namespace, workdir: Path) -> Target:
    from tidtam import migrate
    from tidtam.emulator import LineEmulator

    users: list[str]
    if database_url is not None:
        migrate.upgrade(database_url)
        users = seed(database_url, args.schools)
    else:
        users = [f"U{i:032x}" for i in range(1, args.users + 1)]
    port = free_port()
    with LineEmulator() as emulator:
        if emulator.server_thread is not None and args.line_priority == "idle":
            os.sched_setscheduler(emulator.server_thread.native_id, os.SCHED_IDLE, os.sched_param(0))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "TIDTAM_"))}
        env.update(
            LINE_CHANNEL_SECRET=emulator.channel_secret,
            LINE_CHANNEL_ACCESS_TOKEN=emulator.access_token,
            LINE_API_BASE_URL=emulator.base_url,
            LINE_DATA_API_BASE_URL=emulator.base_url,
            TIDTAM_MEDIA_DIR=str(workdir / "media"),
            TIDTAM_LOG_LEVEL="warning",
            TIDTAM_SCHEDULER_ENABLED="false",
            TIDTAM_WORKERS=str(args.workers),
        )
        if args.worker_priority:
            env["TIDTAM_WORKER_PRIORITY"] = args.worker_priority
        if args.event_threads:
            env["TIDTAM_EVENT_WORKERS"] = str(args.event_threads)
        if args.flood_rate is not None:
            env["TIDTAM_FLOOD_RATE"] = str(args.flood_rate)
        if database_url is None:
            app = workdir / "echo_app.py"
            app.write_text(ECHO_APP, encoding="utf-8")
            command = [
                sys.executable,
                "-m",
                "uvicorn",
                "echo_app:app",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ]
        else:
            env["TIDTAM_DATABASE_URL"] = database_url
            command = [sys.executable, "-m", "tidtam.cli", "serve", "--port", str(port), "--no-migrate"]
        with serving(command, env, port, workdir / f"{name}.log", workdir) as pid:
            time.sleep(1.0)  # the product's worker starts beside it
            if database_url is not None:
                # Until its first heartbeat the worker is still importing and starting: that CPU is
                # not the burst's (on a loaded machine it is seconds, and it was counted in it).
                wait_until_ready(port)
            workers = children(pid) if database_url is not None else []
            web = pid  # the product's web process, or the echo reference's one process
            spy_web = web if args.py_spy else None
            with (
                profiling(next(iter(workers), None), args.py_spy, f"worker-{name}", gil=args.gil),
                profiling(spy_web, args.py_spy, f"web-{name}", gil=args.gil),
            ):
                url = f"http://127.0.0.1:{port}/callback"
                target = measure(name, emulator, users, url, args, workers, web, database_url)
        if emulator.violations:
            target.error = (
                f"LINE would refuse {len(emulator.violations)} requests: {emulator.violations[0][:160]}"
            )
    return target


def wait_until_ready(port: int, seconds: float = 120.0) -> None:
    """Wait for `/readyz` to answer 200: the worker has started and recorded its heartbeat."""
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the product's worker did not become ready")


# --- the report ------------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return "-" if seconds != seconds else f"{seconds * 1000:,.0f}"


def print_table(targets: list[Target], args: argparse.Namespace) -> None:
    echo = next((t for t in targets if t.name == "echo"), None)
    echo_rate = echo.runs[0].per_second if echo and echo.runs else float("nan")
    print(
        f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} ({os.cpu_count()} cores)"
    )
    print(
        f"\nEvent -> answer, {args.burst} events in the burst ({args.concurrency} senders), "
        f"open loop {args.seconds:g} s at {', '.join(f'{r:g}' for r in args.rates)} events/s"
    )
    header = (
        f"{'target':<18}{'run':>8}{'answered/s':>12}{'vs echo':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'tail s':>8}{'lost':>6}{'late':>6}{'dup':>5}{'worker ms/ev':>14}{'web ms/ev':>11}"
        f"{'db ms/ev':>10}{'tx/ev':>7}{'line ms/ev':>12}{'idle':>6}"
    )
    print(header)
    print("-" * len(header))
    for target in targets:
        if target.error and not target.runs:
            print(f"{target.name:<18} {target.error}")
            continue
        for run in target.runs:
            ratio = (
                run.per_second / echo_rate
                if run.label == "burst" and echo_rate == echo_rate
                else float("nan")
            )
            handled = run.answered + run.late  # every event answered, by reply or (late) by push
            cpu = f"{run.worker_cpu / handled * 1000:.2f}" if run.worker_cpu and handled else "-"
            web_cpu = f"{run.web_cpu / run.sent * 1000:.2f}" if run.web_cpu and run.sent else "-"
            db_cpu = f"{run.db_cpu / run.sent * 1000:.2f}" if run.db_cpu and run.sent else "-"
            line_cpu = f"{run.line_cpu / run.sent * 1000:.2f}" if run.line_cpu and run.sent else "-"
            print(
                f"{target.name:<18}{run.label:>8}{run.per_second:>12,.0f}"
                f"{(f'{ratio:.2f}x' if ratio == ratio else '-'):>9}"
                f"{_ms(percentile(run.latencies, 0.5)):>9}{_ms(percentile(run.latencies, 0.99)):>9}"
                f"{_ms(max(run.latencies, default=float('nan'))):>9}{run.tail:>8.1f}{run.lost:>6}{run.late:>6}"
                f"{run.duplicated:>5}{cpu:>14}{web_cpu:>11}{db_cpu:>10}"
                f"{(f'{run.commits / run.sent:.2f}' if run.commits is not None and run.sent else '-'):>7}"
                f"{line_cpu:>12}"
                f"{(f'{run.idle:.0%}' if run.idle is not None else '-'):>6}"
            )
        if target.error:
            print(f"{'':<18} {target.error}")
    print(
        "\nTargets: burst >= 1.0x echo; p99 < 250 ms at 100/s; p99 < 1,000 ms and tail < 1 s at 250/s; "
        "worker < 1.5 ms per event; nothing lost or duplicated."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--schools", type=int, default=60, help="generated office size (people: about 6 per school)"
    )
    parser.add_argument("--users", type=int, default=400, help="distinct LINE users for the echo reference")
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50, help="burst senders, over all generators")
    parser.add_argument("--generators", type=int, default=2, help="load generator processes")
    parser.add_argument(
        "--workers", type=int, default=1, help="TIDTAM_WORKERS: the product's worker processes (PostgreSQL)"
    )
    parser.add_argument(
        "--worker-priority",
        help="TIDTAM_WORKER_PRIORITY (default 10: on a shared machine others' work starves the worker)",
    )
    parser.add_argument(
        "--event-threads", type=int, help="TIDTAM_EVENT_WORKERS: each worker's handling threads"
    )
    parser.add_argument(
        "--flood-rate",
        type=int,
        help="TIDTAM_FLOOD_RATE: arrivals a second that hold handling back (0: never)",
    )
    parser.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)  # a generator process
    parser.add_argument("--rates", type=lambda s: [float(x) for x in s.split(",")], default=[100.0, 250.0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each open-loop run")
    parser.add_argument("--settle", type=float, default=60.0, help="how long to wait for the last answers")
    parser.add_argument("--line-priority", choices=("idle", "normal"), default="idle")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-echo", action="store_true")
    parser.add_argument(
        "--py-spy",
        metavar="DIR",
        help="record the product's worker and web process with py-spy (collapsed stacks)",
    )
    parser.add_argument(
        "--gil", action="store_true", help="py-spy samples only the thread holding the GIL (CPU)"
    )
    args = parser.parse_args()
    if args.generate:
        generate()
        return
    targets: list[Target] = []
    with tempfile.TemporaryDirectory(prefix="tidtam-answer-bench-") as tmp:
        workdir = Path(tmp)
        if not args.no_echo:
            targets.append(run_target("echo", None, args, workdir))
        if not args.no_sqlite:
            targets.append(
                run_target("tidtam sqlite", f"sqlite:///{workdir / 'bench.sqlite3'}", args, workdir)
            )
        if not args.no_postgres:
            try:
                with scratch_postgres(PG_ADMIN_URL, prefix="tidtam_answer_bench", migrate=False) as url:
                    targets.append(run_target("tidtam postgresql", url, args, workdir))
            except PostgresUnavailable as exc:
                targets.append(Target("tidtam postgresql", error=str(exc)))
    print_table(targets, args)


if __name__ == "__main__":
    main()
