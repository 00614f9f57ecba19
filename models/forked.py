"""Length-prefixed frames through a pipe, from a forked worker process to its parent: the daily tick's
row builder (`models.outbox.insert_built_rows`) and its planning worker (`scheduler.planner`) both
send their results this way."""

from __future__ import annotations

import io
import os
import pickle
import queue
import struct

_FRAME = struct.Struct("<Q")


def flat_dumps(value: object) -> bytes:
    """``value`` pickled without the memo, for plain data without cycles (the row builder's chunks:
    tuples of strings, bytes and numbers; the planning worker's plain sections). The memo records every object written, so that a
    second reference to it is written as a reference; without it a chunk pickles several times
    faster and reads back faster too. A value that does hold an object twice is written twice (it
    reads back as two equal objects); one that contains itself cannot be written this way."""
    out = io.BytesIO()
    pickler = pickle.Pickler(out, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True  # no memo
    pickler.dump(value)
    return out.getvalue()


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
