"""Length-prefixed frames through a pipe, from a forked worker process to its parent: the daily tick's
row builder (`models.outbox.insert_built_rows`) and its planning worker (`scheduler.planner`) both
send their results this way."""

from __future__ import annotations

import os
import queue
import struct

_FRAME = struct.Struct("<Q")


def write_frame(fd: int, payload: bytes) -> None:
    """One frame (its length, then ``payload``) into the pipe ``fd``, however many writes it takes."""
    view = memoryview(_FRAME.pack(len(payload)) + payload)
    while view:
        view = view[os.write(fd, view) :]


def read_frames(fd: int, frames: queue.Queue[bytes | None]) -> None:
    """Whole frames from the pipe ``fd`` into ``frames``, then None (a cut-off last frame is dropped)."""
    try:
        with os.fdopen(fd, "rb", buffering=1 << 20) as pipe:
            while len(head := pipe.read(_FRAME.size)) == _FRAME.size:
                (size,) = _FRAME.unpack(head)
                frame = pipe.read(size)
                if len(frame) != size:
                    break
                frames.put(frame)
    finally:
        frames.put(None)
