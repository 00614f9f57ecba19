"""The threads that handle webhook events in the worker process, and how they hold back under a flood.

Acknowledging webhooks (the web process) comes before handling them: LINE counts a slow answer as an
error, while a reply may lag a few seconds. So while the dispatcher reports a flood (webhooks arriving
faster than any worker could handle them; bot/processor.py), the crew is held: each thread finishes the
event in hand, then waits before its next one until the hold is lifted.

Holding, rather than lowering the threads' CPU priority: much of a handler's work runs where no
priority of ours reaches — in PostgreSQL's server processes, and under SQLite's write lock, which the
web process then waits for. Measured on two cores, handler threads under Linux SCHED_IDLE still took
0.4–0.7 of a core from a flood's acknowledgements that way; held, they take none.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

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
