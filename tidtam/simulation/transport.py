"""LINE's HTTP API answered in-process by the emulator: an httpx transport that hands each request
of the product's own ``LineClient`` to the emulator's ASGI app on a private event loop.

The requests and answers are the same bytes as over a loopback socket (the emulator checks each one
against LINE's spec); only the socket, and the server thread that would compete with the replay for
the interpreter, are left out. A year's replay makes tens of thousands of calls.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

__all__ = ["EMULATOR_URL", "InProcessTransport"]

EMULATOR_URL = "http://line-emulator.invalid"  # never resolved: every request goes to the app


class InProcessTransport(httpx.BaseTransport):
    def __init__(self, app: Any) -> None:
        self._asgi = httpx.ASGITransport(app=app)
        self._loop = asyncio.new_event_loop()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def call() -> httpx.Response:
            request.read()
            response = await self._asgi.handle_async_request(request)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        return self._loop.run_until_complete(call())

    def close(self) -> None:
        self._loop.close()
