"""Taking stored webhook events in: draining the store, judging floods, keeping each source's order.

One thread drains the store (`models.events.pending_events`): it takes pending events in arrival
order, groups them by source (a user, group or room) and hands batches of sources to the crew
(`Crew`, below), never one source to two workers at once. A worker handles its batch in rounds, each
round the next event of every source of the batch in one transaction (`bot/processor.py`), so one
person's events are handled one at a time and in order while many people's share the transaction's
fixed cost. The path of an event, file by file: `bot/webhook.py` (verify, store: `models/events.py`)
→ this module → `bot/processor.py` (a batch's transaction; `bot/handlers.py` decides each answer) →
`bot/delivery.py` (the replies to LINE, through `bot/line_client.py`).

Under a flood (events arriving at `flood_rate` a second or faster) the crew is held so acknowledging
comes first (see `Crew`); `FloodGauge` judges that from what each pass of the store read and when, and from how
long the oldest event in hand has waited: plain numbers in, a yes or no out, so the judgement is
tested without a clock.
"""

from __future__ import annotations

import enum
import heapq
import logging
import threading
import time
import zlib
from bisect import insort
from collections import deque
from collections.abc import Callable, Sequence
from typing import Generic, Protocol, TypeVar

from sqlalchemy.engine import Engine

from models.events import pending_events

log = logging.getLogger(__name__)

SWEEP_SECONDS = 1.0
COALESCE_SECONDS = 0.010  # after a wake-up, wait this long for more (events arriving slowly)
MAX_COALESCE = 0.100  # ... and at most this long while they arrive steadily (`coalesce_wait`)
COALESCE_BATCH = 16  # events a steady stream's wait gathers into one transaction, when it can
READ_LIMIT = 2000  # pending ids read per pass
MAX_QUEUED = 20_000  # ids held in memory before quick passes pause
FLOOD_MAX_WAIT = 20.0  # seconds an event may wait in hand before a flood stops holding handling back
FLOOD_WAKE_PAUSE = 0.05  # under a flood, look for new events this often, wake-ups or not
BUSY_READ_PAUSE = 0.02  # with every worker busy, look for new events at most this often
FLOOD_WINDOW = 0.25  # seconds of arrivals the arrival rate is measured over
FLOOD_MIN_SPAN = 0.02  # a shorter stretch tells no rate yet
FLOOD_QUIET = 0.04  # a pass this long after the one before that finds nothing new: the flood is over
MAX_BATCH = 32  # events handled in one transaction (one of each of up to 32 sources)
SPREAD_FROM = MAX_BATCH  # a pass's sources go to one worker up to this many, then over the free ones
ORPHAN_PASSES = 10  # with a share of the sources, every 10th full pass (10 s) takes every source


def coalesce_wait(rate: float) -> float:
    """How long a wake-up waits for more events before it reads the store, with events arriving at
    `rate` a second: COALESCE_SECONDS, or while at least two would arrive within MAX_COALESCE, long
    enough to gather COALESCE_BATCH (at most MAX_COALESCE).

    A transaction's fixed part (claim, outbox, commit, the recording of the replies: a few
    statements, and the handlers' shared reads) cost a batch of one about three times per event what
    it costs a batch of 32; at 100 events/s a 10 ms wait made batches of one or two. A person who
    writes alone is answered as soon as before; a steady stream waits up to 0.1 s more for its answer.
    """
    if rate * MAX_COALESCE < 2:
        return COALESCE_SECONDS
    return min(MAX_COALESCE, max(COALESCE_SECONDS, COALESCE_BATCH / rate))


def source_share(source_key: str, workers: int) -> int:
    """Which of `workers` worker processes handles a source's events (the same in every process)."""
    return zlib.crc32(source_key.encode()) % workers


class Outcome(enum.Enum):
    """What handling one event came to, as the intake sees it."""

    HANDLED = "handled"
    SKIPPED = "skipped"  # already handled (by another worker or replica)
    BUSY = "busy"  # another replica holds the source right now
    WAITING = "waiting"  # a failed attempt's backoff has not passed yet


class Handles(Protocol):
    def process_batch(self, batch: Sequence[tuple[int, str]]) -> list[Outcome]: ...


class Sweeps(Protocol):
    def deliver_due(self, *, limit: int = ...) -> object: ...


class FloodGauge:
    """Whether handling should be held for a flood, from observations only (no clock of its own).

    `observe(at, fresh)` records that a pass of the store at time `at` (seconds, any monotonic scale)
    found `fresh` new events; the first observation is a starting point (what an earlier process left
    is not an arrival). `judge(at, oldest_wait, held)` answers for time `at`: a flood is events
    arriving at `rate` a second or faster over the last `window` seconds, and holds until they arrive
    at less than half that, or the oldest event in hand has waited `max_wait`, or the flood stopped:
    a pass at least `quiet` seconds after the one before found nothing new (waiting for the window
    to empty kept a burst's answers back a quarter of a second after its last event); no hold begins
    then either. Past `max_wait` events are handled whatever arrives, so replies keep up with their
    reply tokens (about a minute) even under a flood that does not end; a flood is not held again
    until the oldest event in hand has waited less than half as long. With no `rate` nothing is
    held, and `arrival_rate` still sizes the wait for more after a wake-up (`coalesce_wait`)."""

    def __init__(
        self,
        rate: int,
        *,
        max_wait: float = FLOOD_MAX_WAIT,
        window: float = FLOOD_WINDOW,
        min_span: float = FLOOD_MIN_SPAN,
        quiet: float = FLOOD_QUIET,
    ) -> None:
        self.rate = max(0, rate)
        self.max_wait = max_wait
        self.quiet = quiet
        self._stopped = False  # the last pass, `quiet` or more after the one before, found nothing new
        self.window = window
        self.min_span = min_span
        self._arrived = 0
        self._passes: deque[tuple[float, int]] = deque()  # (pass time, arrivals counted after it)

    def observe(self, at: float, fresh: int) -> None:
        # Only a pass tells that arrivals stopped: a pass put off (enough in hand) tells nothing.
        self._stopped = bool(self._passes) and not fresh and at - self._passes[-1][0] >= self.quiet
        self._arrived += fresh if self._passes else 0
        self._passes.append((at, self._arrived))

    def arrival_rate(self, at: float) -> float:
        """Events a second over the window that ends at `at` (0 while the stretch is too short)."""
        while len(self._passes) > 1 and self._passes[0][0] < at - self.window:
            self._passes.popleft()
        since, counted = self._passes[0] if self._passes else (at, self._arrived)
        span = at - since
        return (self._arrived - counted) / span if span >= self.min_span else 0.0

    def judge(self, at: float, oldest_wait: float, held: bool) -> bool:
        if not self.rate:
            return False
        rate = self.arrival_rate(at)
        if held:
            return not self._stopped and rate >= self.rate / 2 and oldest_wait < self.max_wait
        return not self._stopped and rate >= self.rate and oldest_wait < self.max_wait / 2


class EventIntake:
    """The worker's drain thread and its crew: finds pending events and has them handled in order."""

    def __init__(
        self,
        engine: Engine,
        processor: Handles,
        *,
        deliverer: Sweeps | None = None,
        workers: int = 8,
        flood_rate: int = 0,
        poll_seconds: float | None = None,
        gauge: FloodGauge | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        share: tuple[int, int] | None = None,
    ) -> None:
        self.engine = engine
        self.processor = processor
        self.deliverer = deliverer
        self.workers = max(1, workers)
        # In a worker process nobody calls notify(): look for new events this often instead.
        self.poll_seconds = poll_seconds
        self.gauge = gauge if gauge is not None else FloodGauge(flood_rate, max_wait=FLOOD_MAX_WAIT)
        self.flood_rate = self.gauge.rate
        self._monotonic = monotonic
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()  # sources a worker is on
        self._queued: dict[str, list[int]] = {}  # pending ids read, by source, not yet handed out
        self._known: set[int] = set()  # ids queued or handed out, not yet handled
        self._active = 0  # batches handed to the crew and not finished yet
        self._deferred = False  # a quick pass was skipped because the workers had enough in hand
        self._read_at: list[tuple[float, int]] = []  # (when read, id): a heap, for the oldest wait
        self._last_pass = 0.0  # when the store was last read
        self._crew: Crew[dict[str, list[int]]] | None = None
        self._thread: threading.Thread | None = None
        self._seen = 0  # the highest pending id read so far (quick passes read above it)
        # (i, n): this is worker i of the n that `tidtam serve` started; it takes the sources whose
        # hash falls to it, and every ORPHAN_PASSES-th full pass takes whatever is pending (another
        # replica's, or a share nobody took): the claim (models.events.claim_event) keeps that safe.
        self.share = share if share is not None and share[1] > 1 else None
        self._full_passes = 0

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        self._crew = Crew(self.workers, self._process_sources)
        self._crew.start()
        self._thread = threading.Thread(target=self._run, name="tidtam-events", daemon=True)
        self._thread.start()
        self.notify()  # whatever a previous process left pending

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._crew is not None:
            self._crew.stop(timeout)

    def notify(self) -> None:
        self._wake.set()

    def alive(self) -> bool:
        """Whether the thread that drains the store is running."""
        return self._thread is not None and self._thread.is_alive() and not self._stopping.is_set()

    @property
    def flooding(self) -> bool:
        """Whether handling is held back for a flood of webhooks right now."""
        return self._crew is not None and self._crew.held

    # --- draining ----------------------------------------------------------------------------------

    def _run(self) -> None:
        last_sweep = last_full = 0.0
        while not self._stopping.is_set():
            # Under a flood, also when no wake-up comes: the end of a flood is an absence of them.
            woke = self._wake.wait(
                timeout=FLOOD_WAKE_PAUSE if self.flooding else self.poll_seconds or SWEEP_SECONDS
            )
            if woke:  # let a burst of wake-ups become one pass
                time.sleep(FLOOD_WAKE_PAUSE if self.flooding else self._coalesce_wait())
            self._wake.clear()
            try:
                full = time.monotonic() - last_full >= SWEEP_SECONDS
                if full:
                    last_full = time.monotonic()
                self._judge_flood()
                self._drain_once(full=full)
                self._judge_flood()  # at once when this pass read a flood's first wave
                if self.deliverer is not None and time.monotonic() - last_sweep >= SWEEP_SECONDS:
                    last_sweep = time.monotonic()
                    self.deliverer.deliver_due(limit=50)  # outbox rows left over (retries, crashes, pushes)
            except Exception:
                log.exception("event intake sweep failed")

    def _drain_once(self, *, full: bool = False) -> None:
        """Find pending events and hand each source's to a worker.

        A quick pass reads only ids above the high-water mark, so each event is read from the store
        once however long the backlog; an event whose source is busy waits in that source's queue
        here, not in the store. A full pass (the periodic sweep) reads every pending id, for events
        this process gave up on (another replica held the source) or whose commit landed late.
        """
        with self._lock:
            busy = self._active >= self.workers and self._monotonic() - self._last_pass < BUSY_READ_PAUSE
            if not full and (len(self._known) >= MAX_QUEUED or busy):
                # Enough in hand: every worker is on a batch of sources. Reading more at every
                # wake-up would only lengthen the queue (and cost a query per commit of the web
                # process under a flood); the pass runs when a worker frees up, or at the next
                # wake-up after a pause (which also tells how fast events arrive).
                self._deferred = True
                return
        pending = pending_events(self.engine, above=None if full else self._seen, limit=READ_LIMIT)
        top = pending[-1][0] if pending else 0  # read in id order: others' events are not read again
        if self.share is not None:
            self._full_passes += full
            if not (full and self._full_passes % ORPHAN_PASSES == 0):
                index, count = self.share
                pending = [(i, s) for i, s in pending if source_share(s, count) == index]
        ready: list[tuple[str, list[int]]] = []
        with self._lock:
            now = self._last_pass = self._monotonic()
            self._seen = max(self._seen, top)
            fresh = 0
            for event_id, source_key in pending:
                self._seen = max(self._seen, event_id)
                if event_id in self._known:
                    continue
                self._known.add(event_id)
                fresh += 1
                if self.flood_rate:
                    heapq.heappush(self._read_at, (now, event_id))
                insort(self._queued.setdefault(source_key, []), event_id)
            self.gauge.observe(now, fresh)  # the flood's judgement, and the wait for more (`_run`)
            # Hand sources only to workers that are free: the rest wait here, where a busy worker
            # takes them into its batch between rounds (`_top_up`), so under load each transaction
            # handles many people's events instead of every thread taking one event at a time.
            free = self.workers - self._active
            for source_key in list(self._queued):
                if len(ready) >= free * MAX_BATCH:
                    break
                if source_key not in self._in_flight:
                    self._in_flight.add(source_key)
                    ready.append((source_key, self._queued.pop(source_key)))
            # Spread the sources over the free workers, in batches of up to MAX_BATCH sources, but
            # hand a pass's first MAX_BATCH to one worker: at steady rates a pass finds a dozen events
            # or so (`coalesce_wait`), and splitting them cost a transaction each part (a batch of 8
            # costs 1.3x per event what one of 32 does), and threads taking turns at the interpreter
            # lock (and SQLite's write lock), for no answer sooner.
            size = min(MAX_BATCH, max(SPREAD_FROM, -(-len(ready) // max(1, free))))
            batches = [dict(ready[start : start + size]) for start in range(0, len(ready), size)]
            self._active += len(batches)
        assert self._crew is not None
        for batch in batches:
            self._crew.submit(batch)

    def _coalesce_wait(self) -> float:
        with self._lock:
            return coalesce_wait(self.gauge.arrival_rate(self._monotonic()))

    def _judge_flood(self) -> None:
        """Hold or release the crew as the gauge judges (see `FloodGauge`)."""
        if not self.flood_rate or self._crew is None:
            return
        with self._lock:
            now = self._monotonic()
            while self._read_at and self._read_at[0][1] not in self._known:
                heapq.heappop(self._read_at)
            waited = now - self._read_at[0][0] if self._read_at else 0.0
            backlog = len(self._known)
            flood = self.gauge.judge(now, waited, self._crew.held)
            rate = self.gauge.arrival_rate(now)
        if flood != self._crew.held:
            log.info(
                "webhook flood %s (%.0f events/s arriving, %d in hand)",
                "began: handling held" if flood else "over",
                rate,
                backlog,
            )
            self._crew.hold(flood)

    def _top_up(self, sources: dict[str, list[int]]) -> None:
        """Fill a batch up to MAX_BATCH sources with queued sources no worker is on (under the lock)."""
        room = MAX_BATCH - len(sources)
        if room <= 0 or not self._queued:
            return
        taken: list[str] = []
        for source_key in self._queued:
            if source_key not in self._in_flight:
                taken.append(source_key)
                if len(taken) >= room:
                    break
        for source_key in taken:
            self._in_flight.add(source_key)
            sources[source_key] = self._queued.pop(source_key)

    def _process_sources(self, sources: dict[str, list[int]]) -> None:
        """Handle the events of a batch of sources, in rounds: each round hands the processor the
        next event of every source in the batch (one transaction), so each source's events are
        handled in order; a source's events queued meanwhile join it, and so do queued sources no
        worker is on, up to MAX_BATCH (`_top_up`). A source leaves the batch
        once it has nothing left, or when its next event must wait (another replica holds the
        source, or a failed attempt waits for its retry: the periodic sweep finds those again)."""
        handled_any = False
        assert self._crew is not None
        try:
            while sources and not self._stopping.is_set():
                with self._lock:
                    for source_key in [key for key, ids in sources.items() if not ids]:
                        sources[source_key] = self._queued.pop(source_key, [])
                        if not sources[source_key]:
                            del sources[source_key]
                            self._in_flight.discard(source_key)
                    self._top_up(sources)
                if not sources or not self._crew.wait_while_held():
                    break  # done, or stopping
                batch = [(ids[0], source_key) for source_key, ids in sources.items()]
                outcomes = self.processor.process_batch(batch)
                with self._lock:
                    for (event_id, source_key), outcome in zip(batch, outcomes, strict=True):
                        if outcome in (Outcome.BUSY, Outcome.WAITING):
                            for left in sources.pop(source_key) + self._queued.pop(source_key, []):
                                self._known.discard(left)
                            self._in_flight.discard(source_key)
                            continue
                        handled_any = True
                        sources[source_key].pop(0)
                        self._known.discard(event_id)
        except Exception:
            log.exception("processing a batch failed")
        finally:
            with self._lock:
                # Stopping or an error: what is left stays pending in the store and is found again
                # by the next full pass.
                for source_key, ids in sources.items():
                    for event_id in ids + self._queued.pop(source_key, []):
                        self._known.discard(event_id)
                    self._in_flight.discard(source_key)
                self._active -= 1
                resume = handled_any and self._deferred and self._active < self.workers
                if resume:
                    self._deferred = False
            if resume:
                self._wake.set()  # the quick pass that was put off


# --- the crew: the threads that handle events, and how they hold back under a flood -----------------
# The threads that handle webhook events in the worker process, and how they hold back under a flood.
#
# Acknowledging webhooks (the web process) comes before handling them: LINE counts a slow answer as an
# error, while a reply may lag a few seconds. So while the dispatcher reports a flood (webhooks arriving
# faster than any worker could handle them; bot/processor.py), the crew is held: each thread finishes the
# event in hand, then waits before its next one until the hold is lifted.
#
# Holding, rather than lowering the threads' CPU priority: much of a handler's work runs where no
# priority of ours reaches — in PostgreSQL's server processes, and under SQLite's write lock, which the
# web process then waits for. Measured on two cores, handler threads under Linux SCHED_IDLE still took
# 0.4–0.7 of a core from a flood's acknowledgements that way; held, they take none.

Item = TypeVar("Item")


class Crew(Generic[Item]):
    """`size` threads taking items from a queue, first in first out, each handed to `work`; a hold
    keeps them from starting the next item (or, through `wait_while_held`, the next piece of one)."""

    def __init__(self, size: int, work: Callable[[Item], None], *, name: str = "tidtam-event") -> None:
        self.size = max(1, size)
        self._work = work
        self._name = name
        self._items: deque[Item] = deque()
        self._ready = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self._free = threading.Event()  # set while not held
        self._free.set()

    def start(self) -> None:
        with self._ready:
            while len(self._threads) < self.size:
                thread = threading.Thread(
                    target=self._run, name=f"{self._name}-{len(self._threads) + 1}", daemon=True
                )
                thread.start()
                self._threads.append(thread)

    @property
    def held(self) -> bool:
        return not self._free.is_set()

    def hold(self, held: bool) -> None:
        if held:
            self._free.clear()
        else:
            self._free.set()

    def wait_while_held(self) -> bool:
        """Between the pieces of long work (one source's many events): wait while the crew is held.
        False when the crew is stopping: the work should return."""
        self._free.wait()
        return not self._stopping

    def submit(self, item: Item) -> None:
        with self._ready:
            self._items.append(item)
            self._ready.notify()

    def stop(self, timeout: float = 10.0) -> None:
        """Let each thread finish its current item; items not started are dropped (they stay pending
        in the store)."""
        with self._ready:
            self._stopping = True
            self._items.clear()
            self._ready.notify_all()
            threads = list(self._threads)
        self._free.set()  # a held thread wakes up to find the crew stopping
        for thread in threads:
            thread.join(timeout)

    def _run(self) -> None:
        while self.wait_while_held():
            with self._ready:
                while not self._items and not self._stopping:
                    self._ready.wait()
                if self._stopping:
                    return
                if self.held:
                    continue  # held while it waited for an item: wait for the release first
                item = self._items.popleft()
            try:
                self._work(item)
            except Exception:  # the work reports its own errors; the thread carries on
                log.exception("event handling failed")
