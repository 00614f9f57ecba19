"""Refuse name resolution of LINE's real hosts, so no test can reach them by mistake."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import Any

LINE_HOST_SUFFIXES = ("line.me", "line-apps.com", "line-scdn.net", "line.biz", "linecorp.com")


class LineHostBlockedError(OSError):
    """Raised instead of resolving a LINE host while the guard is active."""


def is_line_host(host: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "ignore")
    if not isinstance(host, str):
        return False
    host = host.lower().rstrip(".")
    return any(host == s or host.endswith("." + s) for s in LINE_HOST_SUFFIXES)


@contextlib.contextmanager
def block_line_hosts() -> Iterator[None]:
    """While active, ``socket.getaddrinfo`` (used by httpx, aiohttp, requests) refuses LINE hosts."""
    original = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        if is_line_host(host):
            raise LineHostBlockedError(f"tests must not contact LINE ({host}); use the fakeline server")
        return original(host, *args, **kwargs)

    socket.getaddrinfo = guarded
    try:
        yield
    finally:
        socket.getaddrinfo = original
