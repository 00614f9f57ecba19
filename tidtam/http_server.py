"""The HTTP server's own defences, in front of the app: uvicorn as `tidtam serve` runs it.

uvicorn on its own waits for ever for a request's headers, accepts connections until the process runs
out of file descriptors, and waits for ever at shutdown for connections that never finish. A client
without the channel secret could hold `/callback` and `/healthz` shut with about a thousand half-sent
requests. Here:
- a request's headers must arrive within `header_seconds` of its first byte (or of the connection);
- at most `max_connections` connections are served at once; past that a request is answered 503
  (uvicorn's `limit_concurrency`), and the process's file-descriptor limit is raised to allow them;
- an idle keep-alive connection is closed after `keep_alive_seconds`;
- a shutdown waits at most `shutdown_seconds` for requests in progress, then cancels them.
The webhook itself refuses an unsigned request before reading its body, gives a body BODY_SECONDS to
arrive and reads at most MAX_READING bodies at once (bot/webhook.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_SECONDS = 10.0
KEEP_ALIVE_SECONDS = 5
SHUTDOWN_SECONDS = 5
MAX_CONNECTIONS = 2000
HEADER_BYTES = 16 * 1024  # LINE's headers are a few hundred bytes


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing a connection whose request headers do not arrive in
    time. The timer runs from the connection's start, and again from each new request's first byte;
    it stops once the headers are complete (the body's own deadline is the app's)."""

    header_seconds = HEADER_SECONDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_seconds, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.cycle is None or self.cycle.response_complete:  # never in the middle of a response
            self.transport.close()


def raise_file_limit(wanted: int) -> int:
    """Raise this process's soft limit on open files towards `wanted` (within the hard limit);
    returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    return soft if soft != resource.RLIM_INFINITY else wanted


def server_config(
    app: Any,
    *,
    host: str,
    port: int,
    log_level: str = "info",
    header_seconds: float = HEADER_SECONDS,
    keep_alive_seconds: int = KEEP_ALIVE_SECONDS,
    shutdown_seconds: int = SHUTDOWN_SECONDS,
    max_connections: int = MAX_CONNECTIONS,
) -> uvicorn.Config:
    """uvicorn's configuration for the service (`tidtam serve`, `tidtam demo`, the tests' server)."""
    # Room for the connections, the database pool, the log and the worker's pipe.
    files = raise_file_limit(max_connections + 256)
    protocol = type("GuardedHttpProtocol", (GuardedHttpProtocol,), {"header_seconds": header_seconds})
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol,
        log_level=log_level,
        log_config=None,  # the service's own logging (tidtam/logs.py): JSON lines, redacted
        access_log=False,  # access lines would carry LINE user ids in some paths
        lifespan="on",
        limit_concurrency=max(16, min(max_connections, files - 256)),
        timeout_keep_alive=keep_alive_seconds,
        timeout_graceful_shutdown=shutdown_seconds,
        h11_max_incomplete_event_size=HEADER_BYTES,
    )
