"""The threads that handle webhook events in the worker process, and how they yield under a flood.

Acknowledging webhooks (the web process) comes before handling them: LINE counts a slow answer as an
error, while a reply may lag a few seconds. Normally the worker runs at a lowered nice value and both
get CPU. Under a flood, a nice value is not enough: the handlers still take whole cores the web process
needs. So while the dispatcher reports a flood, each handler thread drops itself to Linux SCHED_IDLE
before its next piece of work and takes only CPU nothing else wants. Linux lets an unprivileged thread
lower its priority but not raise it again; when the flood is over, a lowered thread retires and the
dispatcher starts a fresh one, which is created at the process's own priority.

A lowered thread must not hold a lock the web process waits for: preempted inside, it would hold it
until the CPU is idle. SQLite's write lock is such a lock, so writes go through `at_own_priority`,
which hands them to the crew's steward thread (at the process's own priority) while a flood has the
calling thread lowered.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")

_here = threading.local()  # on a crew thread: `steward`, and `lowered` once it has lowered itself


def _name_this_thread(name: str) -> None:
    threading.current_thread().name = name


def at_own_priority(section: Callable[[], Result]) -> Result:
    """Run `section` at the process's own priority and return its result: directly, or, on a crew
    thread lowered for a flood, on the crew's steward thread (the caller waits). For sections that
    hold a lock the web process may wait for."""
    steward: ThreadPoolExecutor | None = getattr(_here, "steward", None)
    if steward is None or not getattr(_here, "lowered", False):
        return section()
    return steward.submit(section).result()


def lower_this_thread() -> bool:
    """Put the calling thread under SCHED_IDLE (Linux: pid 0 is the calling thread); False where the
    platform cannot."""
    policy = getattr(os, "SCHED_IDLE", None)
    if policy is None:
        return False
    try:
        os.sched_setscheduler(0, policy, os.sched_param(0))
    except OSError:
        return False
    return True


class Crew(Generic[Item]):
    """`size` threads taking items from a queue, first in first out, each handed to `work`."""

    def __init__(
        self,
        size: int,
        work: Callable[[Item], None],
        *,
        name: str = "tidtam-event",
        on_retire: Callable[[], None] = lambda: None,
        lower: Callable[[], bool] = lower_this_thread,
    ) -> None:
        self.size = max(1, size)
        self._work = work
        self._name = name
        self._on_retire = on_retire
        self._lower = lower
        self._items: deque[Item] = deque()
        self._ready = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._started = 0
        self._stopping = False
        self._steward: ThreadPoolExecutor | None = None  # one thread at the process's own priority
        self.flood = False  # set by the dispatcher; read by the threads before each item

    def staff(self) -> None:
        """Bring the crew back to `size` threads. Call it from a thread at the process's own priority
        (the dispatcher): new threads inherit their creator's."""
        with self._ready:
            if self._stopping:
                return
            if self._steward is None:
                self._steward = ThreadPoolExecutor(max_workers=1)
                # Its thread starts now, from this thread, so it has this priority (an executor starts
                # its thread on the first submit, which would otherwise come from a lowered thread).
                self._steward.submit(_name_this_thread, f"{self._name}-steward").result()
            self._threads = [thread for thread in self._threads if thread.is_alive()]
            while len(self._threads) < self.size:
                self._started += 1
                thread = threading.Thread(target=self._run, name=f"{self._name}-{self._started}", daemon=True)
                thread.start()
                self._threads.append(thread)

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
        for thread in threads:
            thread.join(timeout)
        if self._steward is not None:
            self._steward.shutdown(wait=True)  # after the threads: one may still be handing a section over

    def _run(self) -> None:
        lowered = False
        _here.steward = self._steward
        while True:
            with self._ready:
                while not self._items and not self._stopping:
                    self._ready.wait()
                if self._stopping:
                    return
                if lowered and not self.flood:
                    self._ready.notify()  # the wake-up this thread took goes to a thread that works
                    break  # retire: a thread at the normal priority takes over
                item = self._items.popleft()
            if self.flood and not lowered:
                lowered = _here.lowered = self._lower()
            try:
                self._work(item)
            except Exception:  # the work reports its own errors; the thread carries on
                log.exception("event handling failed")
        self._on_retire()
