"""The simulator's web side: the page, and the JSON it talks to (people, chats, rich menus, the clock).

Mounted by ``tidtam demo`` only, beside the service, on the same loopback address; never by
``tidtam serve``. What a person does on the page becomes a signed webhook from the LINE emulator to
the service's own ``/callback`` (the production path); what the service sends LINE is read back from
the emulator's record. A chat is read with a long poll: ``GET /simulator/api/chats/{user}?after=N``
answers at once when there is news after turn N, else waits up to ``wait`` seconds.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from messages.clock import no_reminder_ahead
from messages.errors import InputError
from messages.simulator import clock_face, initial_of, page_texts
from messages.thai_dates import format_date
from models.db import make_engine
from scheduler.clock import ShiftedClock
from tidtam.emulator import LineEmulator
from tidtam.emulator.records import ChatTurn, Delivery, LoadingShown, Refusal, UserTurn
from tidtam.settings import Settings

from .people import Persona, personas

__all__ = ["Simulator", "mount_simulator"]

STATIC = Path(__file__).parent / "static"
MAX_WAIT_SECONDS = 25.0  # a long poll's longest wait (browsers and proxies keep idle requests ~30 s+)
MAX_PHOTO_BYTES = 10 * 1024 * 1024  # LINE's own limit for an image a user sends is about this


class Said(BaseModel):
    text: str = Field(min_length=1, max_length=5000)
    quoted_message_id: str | None = Field(default=None, max_length=20)


class Tapped(BaseModel):
    data: str = Field(min_length=1, max_length=300)
    display_text: str | None = Field(default=None, max_length=300)
    params: dict[str, str] | None = None


class ClockMove(BaseModel):
    action: str = Field(pattern="^(next_day|next_reminder|set|reset)$")
    at: str | None = Field(default=None, max_length=40)  # "2027-01-15T08:30" in the office's zone


@dataclass
class Simulator:
    """What the simulator's endpoints work with."""

    emulator: LineEmulator
    engine: Engine
    settings: Settings
    clock: ShiftedClock
    people: dict[str, Persona]
    # Numbers every clock reading the endpoints give out, in the order they were read: the page shows
    # the latest reading, whichever answer reaches it last (a chat poll answered during a move read
    # the clock before the move's own answer did).
    readings: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    reading_lock: threading.Lock = field(default_factory=threading.Lock)  # a number and its reading at once
    # Tells the worker processes the clock moved (the app's `clock_moved`; None when events are
    # handled in this process, whose clock the move sets itself).
    clock_moved: Callable[[], None] | None = None

    def persona(self, user_id: str) -> Persona:
        persona = self.people.get(user_id)
        if persona is None:
            raise HTTPException(404, "no such person in the demo")
        return persona

    def refresh_people(self) -> None:
        """Read the demo's people again and give each a LINE profile in the emulator."""
        self.people = {p.user_id: p for p in personas(self.engine)}
        texts = page_texts()
        for p in self.people.values():
            if self.emulator.profile(p.user_id) is None:
                self.emulator.add_user(p.full_name or str(texts["newcomer_name"]), user_id=p.user_id)


# --- the record as JSON ---------------------------------------------------------------------------


def _at(at: datetime | None, settings: Settings) -> dict[str, str] | None:
    if at is None:
        return None
    local = at.astimezone(settings.tz)
    return {
        "iso": local.isoformat(timespec="seconds"),
        "time": f"{local:%H:%M}",
        "day": local.date().isoformat(),
        "label": format_date(local.date()),
    }


def turn_json(turn: ChatTurn, settings: Settings) -> dict[str, Any]:
    """One turn of a chat for the page."""
    if isinstance(turn, UserTurn):
        event = turn.event
        message = event.get("message") if isinstance(event.get("message"), dict) else {}
        return {
            "seq": turn.seq,
            "side": "user",
            "at": _at(turn.at, settings),
            "kind": turn.kind,
            "text": message.get("text") if turn.kind == "text" else turn.display_text,
            "message_id": turn.message_id,
            "quoted_message_id": message.get("quotedMessageId"),
            "answered": turn.status,
        }
    if isinstance(turn, Delivery):
        return {
            "seq": turn.seq,
            "side": "bot",
            "at": _at(turn.at, settings),
            "kind": turn.kind,
            "free": turn.free,
            "quota_used": turn.quota_used,
            "quota_limit": turn.quota_limit,
            "messages": [
                {**message, "_id": turn.sent_message_ids[i] if i < len(turn.sent_message_ids) else None}
                for i, message in enumerate(turn.messages)
            ],
        }
    if isinstance(turn, LoadingShown):
        return {
            "seq": turn.seq,
            "side": "bot",
            "at": _at(turn.at, settings),
            "kind": "loading",
            "seconds": turn.seconds,
        }
    assert isinstance(turn, Refusal)
    return {
        "seq": turn.seq,
        "side": "system",
        "at": _at(turn.at, settings),
        "kind": "refusal",
        "status": turn.status,
        "operation": turn.operation_id,
        "message": turn.message,
        "details": turn.details,
        "violation": turn.violation,
    }


def quota_json(emulator: LineEmulator) -> dict[str, Any]:
    quota = emulator.quota()
    return {"limit": quota.limit, "used": quota.used, "month": quota.month}


def clock_json(sim: Simulator) -> dict[str, Any]:
    with sim.reading_lock:
        seq, now = next(sim.readings), sim.clock.now()
    origin = sim.clock.origin if sim.clock.simulated else "system"
    local = now.astimezone(sim.settings.tz)
    return {
        "seq": seq,
        "iso": local.isoformat(timespec="seconds"),
        "input": f"{local:%Y-%m-%dT%H:%M}",
        "simulated": sim.clock.simulated,
        "face": clock_face(now, sim.settings.tz, origin),
    }


# --- the endpoints --------------------------------------------------------------------------------


def _page() -> str:
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    texts = json.dumps(page_texts(), ensure_ascii=False).replace("</", "<\\/")
    return html.replace("__TIDTAM_TEXTS__", texts)


def _binary(found: tuple[bytes, str] | None, cache: str) -> Response:
    """A photo or rich menu image the emulator holds, or 404."""
    if found is None:
        raise HTTPException(404, "not found")
    body, content_type = found
    return Response(body, media_type=content_type, headers={"Cache-Control": cache})


def simulator_router(sim: Simulator) -> APIRouter:
    router = APIRouter()
    page = _page()

    @router.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/simulator", status_code=307)

    @router.get("/simulator", response_class=HTMLResponse)
    def simulator_page() -> HTMLResponse:
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    @router.get("/simulator/api/people")
    def people() -> JSONResponse:
        sim.refresh_people()
        return JSONResponse(
            [
                {
                    "user_id": p.user_id,
                    "kind": p.kind.value,
                    "name": p.full_name,
                    "position": p.position,
                    "office": p.office_name,
                    "office_code": p.office_code,
                    "code": p.person_code,
                    "initial": initial_of(p.full_name),
                    "projects": p.projects,
                }
                for p in sim.people.values()
            ]
        )

    @router.get("/simulator/api/chats/{user_id}")
    async def chat(user_id: str, after: int = 0, wait: float = 0.0) -> JSONResponse:
        sim.persona(user_id)
        wait = min(max(wait, 0.0), MAX_WAIT_SECONDS)
        turns = sim.emulator.conversation(user_id, after=after)
        if not turns and wait > 0:
            deadline = asyncio.get_running_loop().time() + wait
            seen = max(after, sim.emulator.last_seq)
            while not turns:
                left = deadline - asyncio.get_running_loop().time()
                if left <= 0:
                    break
                # Wait for news in any chat off the event loop, then look at this one again.
                seen = await asyncio.to_thread(sim.emulator.wait_for_activity, seen, min(left, 5.0))
                turns = sim.emulator.conversation(user_id, after=after)
        last = max([after, *(t.seq for t in turns)])
        return JSONResponse(
            {
                "last": last,
                "turns": [turn_json(t, sim.settings) for t in turns],
                "quota": quota_json(sim.emulator),
                "clock": clock_json(sim),
            }
        )

    @router.post("/simulator/api/chats/{user_id}/say")
    async def say(user_id: str, said: Said) -> JSONResponse:
        sim.persona(user_id)
        event = sim.emulator.text_event(user_id, said.text, quoted_message_id=said.quoted_message_id)
        turn = await sim.emulator.act_async(event)
        return JSONResponse({"seq": turn.seq, "answered": turn.status})

    @router.post("/simulator/api/chats/{user_id}/tap")
    async def tap(user_id: str, tapped: Tapped) -> JSONResponse:
        sim.persona(user_id)
        event = sim.emulator.postback_event(user_id, tapped.data, tapped.params)
        turn = await sim.emulator.act_async(event, display_text=tapped.display_text)
        return JSONResponse({"seq": turn.seq, "answered": turn.status})

    @router.post("/simulator/api/chats/{user_id}/photo")
    async def photo(user_id: str, request: Request) -> JSONResponse:
        sim.persona(user_id)
        content_type = request.headers.get("content-type", "")
        if content_type not in ("image/jpeg", "image/png"):
            raise HTTPException(415, "a photo is sent as image/jpeg or image/png")
        body = await request.body()
        if not body or len(body) > MAX_PHOTO_BYTES:
            raise HTTPException(413, "a photo of at most 10 MB")
        turn = await sim.emulator.act_async(sim.emulator.image_event(user_id, body, content_type))
        return JSONResponse({"seq": turn.seq, "answered": turn.status})

    @router.get("/simulator/api/content/{message_id}")
    def content(message_id: str) -> Response:
        return _binary(sim.emulator.content(message_id), "private, max-age=3600")

    @router.get("/simulator/api/richmenu/{user_id}")
    def rich_menu(user_id: str, alias: str | None = None) -> JSONResponse:
        sim.persona(user_id)
        menu = sim.emulator.rich_menu_by_alias(alias) if alias else sim.emulator.rich_menu_of(user_id)
        return JSONResponse(menu)

    @router.get("/simulator/api/richmenu-image/{rich_menu_id}")
    def rich_menu_image(rich_menu_id: str) -> Response:
        return _binary(sim.emulator.rich_menu_image(rich_menu_id), "no-cache")

    @router.get("/simulator/api/clock")
    def clock() -> JSONResponse:
        return JSONResponse({**clock_json(sim), "quota": quota_json(sim.emulator)})

    @router.post("/simulator/api/clock")
    def move(body: ClockMove) -> JSONResponse:
        # A plain (threadpool) endpoint: the move runs ticks and sends the outbox, which takes time.
        return JSONResponse(move_service_clock(sim, body))

    @router.get("/simulator/api/refusals")
    def refusals(after: int = 0) -> JSONResponse:
        return JSONResponse([turn_json(r, sim.settings) for r in sim.emulator.refusals(after=after)])

    return router


def move_service_clock(sim: Simulator, body: ClockMove) -> dict[str, Any]:
    """The clock panel's buttons: move the service's clock (running the days' ticks and the outbox)."""
    from messages.clock import clock_reset, describe_move
    from scheduler import travel
    from scheduler.service import tick_setup
    from tidtam.commands.clock import read_target

    settings, clock = sim.settings, sim.clock
    if body.action == "reset":
        lines = [clock_reset(travel.reset_clock(sim.engine, clock=clock))]
        if sim.clock_moved is not None:
            sim.clock_moved()
        return {"ok": True, "lines": lines, **clock_json(sim)}
    setup = tick_setup(settings)
    target: datetime | None
    if body.action == "next_day":
        target = travel.next_working_day(clock.now(), setup)
    elif body.action == "next_reminder":
        target = travel.next_reminder(sim.engine, setup, clock.now())
        if target is None:
            return {"ok": False, "lines": [no_reminder_ahead()], **clock_json(sim)}
    else:
        try:
            target = read_target(body.at or "", settings, clock)
        except InputError as exc:
            return {"ok": False, "lines": [exc.reply_text], **clock_json(sim)}
    # The move sends the outbox through its own LINE client (to the emulator, as the settings say).
    summary = travel.move_clock(sim.engine, settings, target, clock=clock)
    if sim.clock_moved is not None:
        sim.clock_moved()
    return {"ok": True, "lines": describe_move(summary, settings.tz), **clock_json(sim)}


def mount_simulator(app: FastAPI, emulator: LineEmulator) -> Simulator:
    """Add the simulator's page and API to the service ``app`` (its settings and clock).

    The simulator has its own engine: a clock move writes while the worker process sends, and the
    web process's engine gives up on a locked SQLite at once (its webhook store retries by itself)."""
    state = app.state
    engine = make_engine(state.settings.database_url)
    sim = Simulator(emulator, engine, state.settings, state.clock, {}, clock_moved=state.clock_moved)
    app.include_router(simulator_router(sim))
    app.mount("/simulator/static", StaticFiles(directory=STATIC), name="simulator-static")
    return sim
