"""The outbox: every message we send is written here first, then delivered by a dispatcher.

This module is the one writer of the outbox, with one set of rules: every row gets its own UUID retry
key, its recipients (what LINE counts for a push), and a `not_before` the dispatcher honours along with
the quiet hours. The handlers queue replies and pushes one at a time (`queue_reply`, `queue_push`); the
daily tick writes its thousands of rows in bulk (`insert_rows`, below the ORM). Due items that can wait
for a free reply are written `held` with a `rider` line (`queue_push(hold_until=...)`); a reply takes
them (`take_riders`), the tick folds them into the day's message (`held_rows`, `mark_merged`), and past their time the
dispatcher releases what is left (`release_held`).

Functions are named for what they mean to the product (`queue_reply`, `claim_due_messages`); the
sending itself is in `bot/delivery.py`, the only place that calls LINE.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import os
import pickle
import queue
import signal
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from models.forked import flat_dumps, read_frames, write_frame
from models.messaging import OutboxMessage, SentMessage
from models.prepared import Prepared
from models.types import OutboxKind, OutboxStatus

log = logging.getLogger(__name__)

# A reply token lives about a minute; we stop trusting it a little earlier.
REPLY_TOKEN_LIFETIME = timedelta(seconds=50)


# Queueing a reply and recording a delivery's outcome run once per answered event; they need nothing
# from the unit of work (no object is read back), so they use plain Core statements on the tables,
# built once. An UPDATE's SET clause comes from the keys of the parameters it is given.
_OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]
_INSERT_OUTBOX_ROW = sa.insert(_OUTBOX)
_INSERT_REPLIES = sa.insert(_OUTBOX).returning(_OUTBOX.c.id, _OUTBOX.c.retry_key)
_UPDATE_OUTBOX_ROW = sa.update(_OUTBOX).where(_OUTBOX.c.id == sa.bindparam("row_id"))
_INSERT_SENT_MESSAGES = sa.insert(SentMessage.__table__)  # type: ignore[attr-defined]


def new_retry_key() -> str:
    return str(uuid.uuid4())


def retry_keys() -> Iterator[str]:
    """Random (version 4) UUIDs for bulk writes, the random bytes drawn 16 KiB at a time."""
    while True:
        block = os.urandom(16 * 1024)
        for start in range(0, len(block), 16):
            yield str(uuid.UUID(bytes=block[start : start + 16], version=4))


_VERSION_4 = bytes((b & 0x0F) | 0x40 for b in range(256))  # a UUID's 7th byte: version 4
_VARIANT_RFC = bytes((b & 0x3F) | 0x80 for b in range(256))  # its 9th: the RFC 4122 variant
# Where each of a UUID's 32 hex digits goes in its text form (8-4-4-4-12 digits between dashes).
_UUID_PLACES = [
    (digit, digit + (digit >= 8) + (digit >= 12) + (digit >= 16) + (digit >= 20)) for digit in range(32)
]


def sorted_retry_keys(count: int) -> list[str]:
    """``count`` fresh random (version 4) UUIDs in ascending order, as `retry_keys` would give them
    and then sorted, formatted from the random bytes directly (`uuid.UUID` costs microseconds a key,
    and a big tick needs one per row): the version nibble set to 4 and the variant bits to 10. The
    sorted keys' hex digits are put in their places among the dashes a digit column at a time (one
    slice assignment each over all keys), and the text is split into keys once."""
    if not count:
        return []
    block = bytearray(os.urandom(16 * count))
    block[6::16] = block[6::16].translate(_VERSION_4)
    block[8::16] = block[8::16].translate(_VARIANT_RFC)
    text = block.hex()
    hexed = "".join(sorted([text[start : start + 32] for start in range(0, len(text), 32)])).encode()
    out = bytearray(b"-" * (37 * count))  # 36 characters a key and a comma after each
    for digit, place in _UUID_PLACES:
        out[place::37] = hexed[digit::32]
    out[36::37] = b"," * count
    return out[:-1].decode().split(",")


def recipients_counted(kind: str, recipients: Sequence[str]) -> int:
    """Messages LINE counts against the quota for a row (one per recipient; a reply is free). A group's
    members are counted by LINE, not here: a group push counts one in our own tally."""
    return 0 if kind == OutboxKind.REPLY else len(recipients)


def reply_values(
    *,
    event_id: int,
    webhook_event_id: str,
    reply_token: str | None,
    event_time: datetime,
    to: str,
    messages: Sequence[dict[str, Any]],
    now: datetime,
    purpose: str = "reply",
    ref_type: str | None = None,
    ref_id: int | None = None,
    person_ids: Sequence[int] = (),
    claim_for: str | None = None,
    lease: timedelta = timedelta(minutes=2),
) -> dict[str, Any]:
    """The outbox row answering an event: a reply while the token is fresh, else a push to `to`
    (written by `queue_reply`, or by `insert_replies` for a batch of events).

    With `claim_for`, the row is born claimed by that dispatcher (it will send it right after the
    commit); if the dispatcher dies first, the claim lapses and any dispatcher picks the row up."""
    return {
        "retry_key": new_retry_key(),
        "dedupe_key": f"event:{webhook_event_id}:{purpose}:{ref_type or ''}:{ref_id or ''}",
        "kind": OutboxKind.REPLY if reply_token else OutboxKind.PUSH,
        "recipients": [to],
        "person_ids": list(person_ids),
        "reply_token": reply_token,
        "reply_deadline": (event_time + REPLY_TOKEN_LIFETIME) if reply_token else None,
        "event_id": event_id,
        "rule": "reply",
        "subject": webhook_event_id,
        "messages": list(messages),
        "purpose": purpose,
        "ref_type": ref_type,
        "ref_id": ref_id,
        "status": OutboxStatus.SENDING if claim_for else OutboxStatus.PENDING,
        "claimed_by": claim_for,
        "claimed_until": (now + lease) if claim_for else None,
        "attempts": 1 if claim_for else 0,
        "not_before": now,
        "next_attempt_at": now,
        "created_at": now,
    }


def queue_reply(session: Session, **answer: Any) -> OutboxMessage:
    """Queue the answer to an event (`reply_values` tells its arguments) with a plain INSERT, not
    through the unit of work. Whatever the session holds is flushed first, so ids keep the order rows
    were queued in. The returned object carries the row's values and id but is not tracked by the
    session: change the row through this module's functions, not through its attributes.
    """
    values = reply_values(**answer)
    session.flush()
    result = session.execute(_INSERT_OUTBOX_ROW, values)
    return OutboxMessage(id=result.inserted_primary_key[0], **values)  # type: ignore[attr-defined]


@dataclass(slots=True)
class QueuedRow:
    """An outbox row just written, as the deliverer reads it: what `insert_replies` returns (building
    the ORM object cost more than writing the row)."""

    id: int
    kind: str
    recipients: list[str]
    messages: list[dict[str, Any]]
    reply_token: str | None
    reply_deadline: datetime | None
    attempts: int
    retry_key: str
    purpose: str
    ref_type: str | None
    ref_id: int | None
    messages_json: str | None = None  # `messages` as LINE's request carries them (PostgreSQL's rows)


def insert_replies(session: Session, rows: Sequence[dict[str, Any]]) -> list[QueuedRow]:
    """Write a batch's answers (`reply_values`), ids in the order given: one statement."""
    if not rows:
        return []
    session.flush()
    # One INSERT … RETURNING for the batch. Neither backend is asked for the rows' order (on SQLite
    # that would cost a statement per row): each id comes back with its row's unique retry key.
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        names = tuple(rows[0])
        # The JSON columns' values nested in the document; each row's messages encoded once, as
        # LINE's request will carry them too (`QueuedRow.messages_json`, bot/line_client.py).
        texts = [_messages_json(values["messages"]) for values in rows]
        encoded: list[str | None] = list(texts)
        document = _rows_json_with(rows, texts)
        nested = "\\u0000" not in document
        if not nested:  # json_to_recordset refuses that escape anywhere in its document
            document = _rows_json(_json_columns_as_text(rows, names))
        found = conn.execute(_recordset_insert(names, nested), {"rows": document})
    else:  # SQLAlchemy's "insertmanyvalues": compiled once, its VALUES repeated per row
        found = conn.execute(_INSERT_REPLIES, list(rows))
        encoded = [None] * len(rows)  # its JSON serializer is SQLAlchemy's: LINE's request encodes anew
    by_key = {retry_key: row_id for row_id, retry_key in found}
    ids = [by_key[values["retry_key"]] for values in rows]
    return [
        QueuedRow(
            id=row_id,
            kind=values["kind"],
            recipients=values["recipients"],
            messages=values["messages"],
            reply_token=values["reply_token"],
            reply_deadline=values["reply_deadline"],
            attempts=values["attempts"],
            retry_key=values["retry_key"],
            purpose=values["purpose"],
            ref_type=values["ref_type"],
            ref_id=values["ref_id"],
            messages_json=messages_json,
        )
        for row_id, values, messages_json in zip(ids, rows, encoded, strict=True)
    ]


@functools.cache
def _recordset_insert(names: tuple[str, ...], nested: bool = True) -> sa.TextClause:
    """PostgreSQL: the outbox rows' INSERT from one JSON parameter (`_rows_json`), read back into
    rows by the server (json_to_recordset), RETURNING id and retry key. One text for any number of
    rows, so psycopg converts its placeholders once and the server prepares it, and one string to
    bind: a multi-row VALUES is new text for every batch size, which psycopg parsed anew each time
    (9% of the worker's GIL samples in the answer bench), and an array per column costs more to bind
    than the rows did.

    `nested`: the JSON columns' values are JSON inside the document, read as json (their text as
    written); otherwise they are JSON text in strings (`_json_columns_as_text`), cast to json. The
    first is the usual one: encoding each value on its own, then escaping that text again inside
    the document, cost 5% of the worker's samples in the answer bench."""
    dialect = postgresql.dialect()
    json_names = _json_names(names)
    columns = ", ".join(
        f"{name} json"
        if nested and name in json_names
        else f"{name} {_recordset_type(_OUTBOX.c[name].type, dialect)}"
        for name in names
    )
    selected = ", ".join(
        f"CAST({name} AS json)" if not nested and name in json_names else name for name in names
    )
    return sa.text(
        f"INSERT INTO {_OUTBOX.name} ({', '.join(names)}) "
        f"SELECT {selected} FROM json_to_recordset(CAST(:rows AS json)) AS v({columns}) "
        "RETURNING id, retry_key"
    )


def _recordset_type(type_: sa.types.TypeEngine[Any], dialect: sa.Dialect) -> str:
    """A column's type as the JSON is read into it: strings without their length, so a value too long
    is refused by the INSERT, not cut to fit; a JSON column as its text (`_json_columns_as_text`)."""
    if isinstance(type_, sa.JSON):
        return "text"
    return "VARCHAR" if isinstance(type_, sa.String) else type_.compile(dialect)


@functools.cache
def _json_names(names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(name for name in names if isinstance(_OUTBOX.c[name].type, sa.JSON))


def _json_columns_as_text(rows: Sequence[Mapping[str, Any]], names: tuple[str, ...]) -> list[dict[str, Any]]:
    """The rows with their JSON columns' values as JSON text, cast back to json by the INSERT.

    Nested in the rows' JSON, a message echoing what someone typed could hold ``\\u0000``, which
    json_to_recordset refuses to read (it cannot be text); as a string it is ``\\\\u0000`` there and
    stays the escape that the json column keeps, as a bound JSON value always did."""
    json_names = _json_names(names)
    return [
        {
            **row,
            **{name: json.dumps(row[name], ensure_ascii=False, separators=(",", ":")) for name in json_names},
        }
        for row in rows
    ]


def _rows_json(rows: Sequence[Mapping[str, Any]]) -> str:
    """Rows (column name → value) as one JSON text for json_to_recordset (`_recordset_insert`,
    `_PG_RECORD_SENT`)."""
    return _encode_rows(list(rows))


# A message list as LINE's request encodes it (bot/line_client.py `_json_bytes`: compact, UTF-8, no NaN).
_messages_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
# Rows as json_to_recordset reads them (`_rows_json`, `_rows_json_with`): compact, UTF-8, UTC datetimes.
_encode_rows = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), default=lambda v: _utc_text(v)
).encode


def _rows_json_with(rows: Sequence[Mapping[str, Any]], messages: Sequence[str]) -> str:
    """`_rows_json(rows)` with each row's messages given as their JSON text (spliced, not encoded)."""
    return (
        "["
        + ",".join(
            f'{_encode_rows({k: v for k, v in row.items() if k != "messages"})[:-1]},"messages":{text}}}'
            for row, text in zip(rows, messages, strict=True)
        )
        + "]"
    )


def _utc_text(value: object) -> str:
    """A datetime as JSON text for a UTC column; as `UTCDateTime`, naive values are refused."""
    if not isinstance(value, datetime):
        raise TypeError(f"{type(value).__name__} is not JSON")
    if value.tzinfo is None:
        raise ValueError("naive datetime: store timezone-aware UTC values only")
    return value.astimezone(UTC).isoformat()


def queue_push(
    session: Session,
    *,
    to: Sequence[str],
    messages: Sequence[dict[str, Any]],
    dedupe_key: str,
    rule: str,
    subject: str,
    now: datetime,
    not_before: datetime | None = None,
    purpose: str = "",
    ref_type: str | None = None,
    ref_id: int | None = None,
    person_ids: Sequence[int] = (),
    hold_until: datetime | None = None,
    rider: str | None = None,
) -> OutboxMessage | None:
    """Queue a push (one recipient) or multicast (several); None when `dedupe_key` was queued before.

    `hold_until` (one recipient, with a `rider`): the row is held for the person's next free reply
    or the next daily tick, and released by itself at that time if neither took it."""
    existing = session.exec(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)).first()
    if existing is not None:
        return None
    held = hold_until is not None and rider is not None and len(to) == 1
    row = OutboxMessage(
        retry_key=new_retry_key(),
        dedupe_key=dedupe_key,
        kind=OutboxKind.PUSH if len(to) == 1 else OutboxKind.MULTICAST,
        recipients=list(to),
        person_ids=list(person_ids),
        rule=rule,
        subject=subject,
        messages=list(messages),
        purpose=purpose,
        ref_type=ref_type,
        ref_id=ref_id,
        status=OutboxStatus.HELD if held else OutboxStatus.PENDING,
        not_before=hold_until if held else not_before or now,
        next_attempt_at=hold_until if held else not_before or now,
        created_at=now,
        ride_key=to[0] if rider is not None and len(to) == 1 else None,
        rider=rider,
    )
    session.add(row)
    return row


# --- riding on replies, folding into the day's message -----------------------------------------------

_RIDEABLE = (OutboxStatus.HELD.value, OutboxStatus.PENDING.value)


def rode_today(session: Session, user_id: str, since: datetime) -> bool:
    """Whether something already rode on a reply to `user_id` since `since` (the local day's start)."""
    found = session.execute(
        sa.select(_OUTBOX.c.id)
        .where(
            _OUTBOX.c.ride_key == user_id,
            _OUTBOX.c.status == OutboxStatus.MERGED.value,
            _OUTBOX.c.rode_at >= since,
        )
        .limit(1)
    ).first()
    return found is not None


# What waits for some people, and whether something rode on a reply to them since the day began, in
# one statement: it runs for nearly every batch of answered events, so it is compiled once and run on
# the driver's cursor (models/prepared.py), the people's LINE ids as one parameter (an array on
# PostgreSQL; on SQLite a JSON list joined through json_each, which SQLite plans by the riding key's
# index, where with `IN (SELECT value FROM json_each(?))` it read every held and pending row), one
# text for any number of them.
_RIDER_TEST = sa.or_(
    sa.and_(  # status IN _RIDEABLE, without the IN list SQLAlchemy expands at each run
        sa.or_(*(_OUTBOX.c.status == status for status in _RIDEABLE)),
        _OUTBOX.c.rider.is_not(None),
    ),
    sa.and_(
        _OUTBOX.c.status == OutboxStatus.MERGED.value,
        _OUTBOX.c.rode_at >= sa.bindparam("since", type_=_OUTBOX.c.rode_at.type),
    ),
)
_RIDER_COLUMNS = (_OUTBOX.c.ride_key, _OUTBOX.c.id, _OUTBOX.c.rider, _OUTBOX.c.status)
_LISTED = sa.func.json_each(sa.bindparam("user_ids")).table_valued("value").alias("listed")
_RIDERS_UNLESS_RODE = {
    "postgresql": Prepared(
        sa.select(*_RIDER_COLUMNS)
        .where(
            _OUTBOX.c.ride_key == sa.any_(sa.bindparam("user_ids", type_=postgresql.ARRAY(sa.String()))),
            _RIDER_TEST,
        )
        .order_by(_OUTBOX.c.id)
    ),
    "sqlite": Prepared(
        sa.select(*_RIDER_COLUMNS)
        .select_from(_LISTED.join(_OUTBOX, _OUTBOX.c.ride_key == _LISTED.c.value))
        .where(_RIDER_TEST)
        .order_by(_OUTBOX.c.id)
    ),
}


def take_riders(
    session: Session, user_id: str, now: datetime, *, unless_rode_since: datetime | None = None
) -> list[tuple[int, str]]:
    """Take the rows waiting for `user_id` that may ride on a reply (held, or pending and not yet
    claimed by a dispatcher): (id, rider) in the order they were queued. Each is taken with a
    compare-and-set UPDATE, so a dispatcher that claims one first keeps it. With
    `unless_rode_since`, nothing is taken when something already rode since then (`rode_today` in
    the same statement)."""
    if unless_rode_since is not None:
        return take_riders_many(session, [user_id], now, unless_rode_since=unless_rode_since).get(user_id, [])
    candidates = session.execute(
        sa.select(_OUTBOX.c.id, _OUTBOX.c.rider)
        .where(
            _OUTBOX.c.ride_key == user_id,
            _OUTBOX.c.status.in_(_RIDEABLE),
            _OUTBOX.c.rider.is_not(None),
        )
        .order_by(_OUTBOX.c.id)
    ).all()
    return _take(session, candidates, now)


def take_riders_many(
    session: Session, user_ids: Sequence[str], now: datetime, *, unless_rode_since: datetime
) -> dict[str, list[tuple[int, str]]]:
    """`take_riders` for several people at once (a batch of events): one statement finds what waits
    for all of them; user id → (id, rider) taken, for those who had something and for whom nothing
    rode since `unless_rode_since`."""
    dialect = session.get_bind().dialect.name
    ids = sorted(set(user_ids))
    found = _RIDERS_UNLESS_RODE[dialect].rows(
        session, {"user_ids": ids if dialect == "postgresql" else json.dumps(ids), "since": unless_rode_since}
    )
    waiting: dict[str, list[tuple[int, str]]] = {}
    rode: set[str] = set()
    for user_id, row_id, rider, status in found:
        if status == OutboxStatus.MERGED.value:
            rode.add(user_id)
        else:
            waiting.setdefault(user_id, []).append((row_id, rider))
    taken = {}
    for user_id, candidates in waiting.items():
        if user_id not in rode:
            taken[user_id] = _take(session, candidates, now)
    return taken


def _take(session: Session, candidates: Sequence[tuple[int, str]], now: datetime) -> list[tuple[int, str]]:
    taken = []
    for row_id, rider in candidates:
        result = session.execute(
            sa.update(_OUTBOX)
            .where(_OUTBOX.c.id == row_id, _OUTBOX.c.status.in_(_RIDEABLE), _OUTBOX.c.claimed_by.is_(None))
            .values(status=OutboxStatus.MERGED.value, rode_at=now, sent_at=now)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            taken.append((int(row_id), str(rider)))
    return taken


def mark_carried(session: Session, row_ids: Sequence[int], carrier_id: int) -> None:
    """Record which row carried rows that rode on it."""
    if row_ids:
        session.execute(
            sa.update(_OUTBOX).where(_OUTBOX.c.id.in_(list(row_ids))).values(merged_into=carrier_id)
        )


def held_rows(conn: Connection) -> list[Any]:
    """Every held row, for the tick to fold into the day's messages (those due, and any whose person
    gets a message today anyway), in the order queued."""
    rows = conn.execute(
        sa.select(
            _OUTBOX.c.id,
            _OUTBOX.c.ride_key,
            _OUTBOX.c.person_ids,
            _OUTBOX.c.messages,
            _OUTBOX.c.rider,
            _OUTBOX.c.rule,
            _OUTBOX.c.not_before,
            _OUTBOX.c.created_at,
        )
        .where(_OUTBOX.c.status == OutboxStatus.HELD.value, _OUTBOX.c.rule != RIDE_ONLY_RULE)
        .order_by(_OUTBOX.c.id)
    ).all()
    return list(rows)


def mark_merged(conn: Connection, row_ids: Sequence[int], now: datetime, carrier: int | None = None) -> None:
    """Held rows folded into another row (the tick's daily message for their person, or ``carrier``:
    a message they had today already that told them the same)."""
    values: dict[str, Any] = {"status": OutboxStatus.MERGED.value, "sent_at": now}
    if carrier is not None:
        values["merged_into"] = carrier
    for start in range(0, len(row_ids), 500):
        conn.execute(
            sa.update(_OUTBOX)
            .where(
                _OUTBOX.c.id.in_(list(row_ids[start : start + 500])),
                _OUTBOX.c.status == OutboxStatus.HELD.value,
            )
            .values(**values)
        )


# A day's reminders the budget could not push: held only to ride on the person's free reply that
# day, never released as a push (their time is NEVER), and expired by the next tick, which plans
# afresh (`expire_rides`).
RIDE_ONLY_RULE = "reminder_ride"
NEVER = datetime(9000, 1, 1, tzinfo=UTC)


def expire_rides(conn: Connection) -> int:
    """Remove the ride-only rows no reply took (the day they were for is over)."""
    result = conn.execute(
        sa.delete(_OUTBOX).where(
            _OUTBOX.c.rule == RIDE_ONLY_RULE, _OUTBOX.c.status == OutboxStatus.HELD.value
        )
    )
    return int(result.rowcount or 0)


# Pushes queued outside the tick that are a person's message of the day: the dashboard's "remind one
# office now" (dashboard/activity.py). The tick sends those people nothing more that day.
DAY_MESSAGE_RULES = ("remind_now",)


def messaged_between(conn: Connection, since: datetime, until: datetime) -> dict[int, tuple[int, datetime]]:
    """People who have a push of ``DAY_MESSAGE_RULES`` going out in [since, until) (queued, on its way
    or sent): person id → (that row's id, when it was queued)."""
    rows = conn.execute(
        sa.select(_OUTBOX.c.id, _OUTBOX.c.person_ids, _OUTBOX.c.created_at).where(
            _OUTBOX.c.rule.in_(DAY_MESSAGE_RULES),
            _OUTBOX.c.kind.in_([OutboxKind.PUSH.value, OutboxKind.MULTICAST.value]),
            _OUTBOX.c.status.in_(
                [OutboxStatus.PENDING.value, OutboxStatus.SENDING.value, OutboxStatus.SENT.value]
            ),
            _OUTBOX.c.not_before >= since,
            _OUTBOX.c.not_before < until,
        )
    ).all()
    found: dict[int, tuple[int, datetime]] = {}
    for row_id, person_ids, created_at in rows:
        for person_id in person_ids or ():
            found.setdefault(int(person_id), (int(row_id), created_at))
    return found


def keep_waiting(conn: Connection, row_ids: Sequence[int], until: datetime) -> None:
    """Held rows the day could not send (quota, a reporter's cap) wait on, for a reply or the next tick."""
    for start in range(0, len(row_ids), 500):
        conn.execute(
            sa.update(_OUTBOX)
            .where(
                _OUTBOX.c.id.in_(list(row_ids[start : start + 500])),
                _OUTBOX.c.status == OutboxStatus.HELD.value,
            )
            .values(not_before=until, next_attempt_at=until)
        )


def release_held(conn: Connection, now: datetime) -> int:
    """Held rows whose time has come and that nothing took (no reply, no tick): sent as they are."""
    result = conn.execute(
        sa.update(_OUTBOX)
        # A held row's next_attempt_at is its not_before: the (status, next_attempt_at) index finds them.
        .where(_OUTBOX.c.status == OutboxStatus.HELD.value, _OUTBOX.c.next_attempt_at <= now)
        .values(status=OutboxStatus.PENDING.value, next_attempt_at=now)
    )
    return int(result.rowcount or 0)


# --- the tick's bulk write ---------------------------------------------------------------------------

_JSON_COLUMNS = frozenset(c.name for c in _OUTBOX.columns if isinstance(c.type, sa.JSON))


def json_text(value: Any) -> str:
    """A JSON column's value as the compact text `insert_rows` expects."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def insert_rows(
    conn: Connection,
    rows: Iterable[Mapping[str, Any]] | Iterable[Sequence[Any]],
    *,
    columns: Sequence[str] | None = None,
    constants: Mapping[str, Any] | None = None,
) -> int:
    """Insert outbox rows (JSON columns already serialised, `json_text`) below SQLAlchemy's per-row
    machinery, and return how many: SQLite through the driver's executemany (its loop is in C) in
    chunks, PostgreSQL through one COPY that streams the rows as they come, so the server stores
    them while the rows after them are still being built (executemany there sends one statement per
    row, about ten times slower). A duplicate dedupe key still fails the whole transaction, as it must.

    ``rows`` are dicts (every row with the same keys), or, with ``columns``, sequences of those
    columns' values in that order, any iterable (a generator is consumed as it is written).
    ``constants``: columns whose value is the same on every row, given (and converted) once."""
    constants = dict(constants or {})
    if columns is None:
        dicts = list(rows)  # type: ignore[arg-type]
        if not dicts:
            return 0
        names = [name for name in dicts[0] if name not in constants]
        values: Iterable[Sequence[Any]] = ([row[name] for name in names] for row in dicts)  # type: ignore[call-overload]
    else:
        names, values = list(columns), rows  # type: ignore[assignment]
    with _writer(conn, names, constants) as writer:
        chunk: list[Sequence[Any]] = []
        for row in values:
            chunk.append(row)
            if len(chunk) >= writer.chunk:
                writer.write(len(chunk), writer.format(chunk))
                chunk = []
        if chunk:
            writer.write(len(chunk), writer.format(chunk))
        return writer.count


def insert_built_rows(
    conn: Connection,
    jobs: Sequence[Any],
    keys: Sequence[str],
    build: Callable[[Any, str], Sequence[Any]],
    *,
    columns: Sequence[str],
    constants: Mapping[str, Any] | None = None,
    workers: int = 0,
) -> int:
    """`insert_rows` of the rows ``build(job, key)`` for each of ``jobs`` with its retry key (in
    order; ``columns`` names a row's values), built in ``workers`` processes forked for it when
    there are any (``build_workers``): each builds a contiguous share of the rows and formats them
    for the database (COPY text, or the driver's tuples), and this process writes them in order as
    they come, in its own transaction, while the rows after them are still being built. Building a
    day's cards is pure Python, so it runs on another core; nothing else crosses the processes. A
    worker that fails leaves its share to this process (the rows are the same either way); without
    workers (or `os.fork`) everything is built here. A worker silent for a minute is killed (a fork
    copies only this thread: a lock another thread held then stays held in the worker forever)."""
    if len(keys) != len(jobs):
        raise ValueError("one retry key per row")
    if not workers or not hasattr(os, "fork") or len(jobs) < 2 * workers:
        return insert_rows(conn, map(build, jobs, keys), columns=columns, constants=constants)
    with _writer(conn, list(columns), dict(constants or {})) as writer:
        shares = [len(jobs) * n // workers for n in range(workers + 1)]
        started = [_fork_builder(writer, jobs, keys, build, lo, hi) for lo, hi in itertools.pairwise(shares)]
        waiting = {pid for pid, _frames in started}
        try:
            for (pid, frames), (lo, hi) in zip(started, itertools.pairwise(shares), strict=True):
                done = lo
                while True:
                    try:
                        frame = frames.get(timeout=_WORKER_SILENCE)
                    except queue.Empty:  # stuck (say, on a lock another thread held at the fork)
                        os.kill(pid, signal.SIGKILL)  # its pipe closes, and its reader ends
                        continue
                    if frame is None:
                        break
                    count, payload = pickle.loads(frame)
                    writer.write(count, payload)
                    done += count
                _, status = os.waitpid(pid, 0)
                waiting.discard(pid)
                if done < hi:  # the worker died or failed: its rows are built here
                    log.warning(
                        "tick row builder exited with status %d after %d of %d rows",
                        status,
                        done - lo,
                        hi - lo,
                    )
                    for start in range(done, hi, writer.chunk):
                        end = min(hi, start + writer.chunk)
                        rows = list(map(build, jobs[start:end], keys[start:end]))
                        writer.write(end - start, writer.format(rows))
        finally:
            for pid in waiting:  # this process failed first: its workers are not needed any more
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
        return writer.count


def build_workers(rows: int, configured: int | None = None) -> int:
    """Processes to fork for building ``rows`` rows (`insert_built_rows`): one for a big write on a
    machine of at least ``_FORK_FROM_CPUS`` cores (it builds while this process stores: on 2 cores,
    quiet, SQLite's whole tick for 30,000 schools 24.0 → 18.6 s; PostgreSQL's server takes the other
    core, so no faster there), none for a small write, where forking costs more than it saves, or on
    one core; ``configured`` (the setting ``TIDTAM_TICK_BUILD_WORKERS``, through the tick's setup)
    overrides it (0: build here)."""
    if configured is not None:
        return max(0, int(configured))
    spare = (os.cpu_count() or 1) >= _FORK_FROM_CPUS
    return 1 if rows >= _FORK_FROM_ROWS and spare and hasattr(os, "fork") else 0


BIG_WRITE = 5000  # rows: from here on a write is big (`build_workers`, `checkpoint_later`)
_FORK_FROM_ROWS = BIG_WRITE
_FORK_FROM_CPUS = 2
_FRAMES_AHEAD = 4  # chunks read ahead of the writer at most: past them the worker waits (memory)
_WORKER_SILENCE = 60.0  # seconds without a chunk from a worker (one takes well under one) before it is killed


@contextmanager
def checkpoint_later(conn: Connection) -> Iterator[Callable[[], None]]:
    """Around a transaction on ``conn``: the function it gives, called in the transaction of a big
    write, moves SQLite's WAL checkpoint off the commit. Such a commit leaves the write-ahead log
    past its limit, and SQLite then copies every page the day's rows filled into the database file
    (and syncs it) on the committing thread before the commit returns; here that copy runs on a
    thread of its own once the transaction is committed (a passive checkpoint: readers and writers
    go on meanwhile, and the rows are committed either way). The connection gets its own
    checkpoint limit back before it returns to the pool. Nothing changes on PostgreSQL."""
    raw: Any = conn.connection.dbapi_connection if conn.dialect.name == "sqlite" else None
    previous: list[int] = []

    def defer() -> None:
        if raw is not None and not previous:
            previous.append(int(raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0]))
            raw.execute("PRAGMA wal_autocheckpoint=0")

    committed = False
    try:
        yield defer
        committed = True
    finally:
        if previous:
            raw.execute(f"PRAGMA wal_autocheckpoint={previous[0]}")
            if committed:
                engine = conn.engine
                threading.Thread(
                    target=_checkpoint, args=(engine,), name="wal-checkpoint", daemon=True
                ).start()


def _checkpoint(engine: sa.Engine) -> None:
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
    except Exception:  # the next commit past the limit checkpoints anyway
        log.exception("WAL checkpoint after the tick's write failed")


def _fork_builder(
    writer: _Writer,
    jobs: Sequence[Any],
    keys: Sequence[str],
    build: Callable[[Any, str], Sequence[Any]],
    lo: int,
    hi: int,
) -> tuple[int, queue.Queue[bytes | None]]:
    """Fork a process that builds rows ``lo:hi`` and sends them, formatted, chunk by chunk through a
    pipe; a thread here reads the pipe into the returned queue (which ends with None), up to
    `_FRAMES_AHEAD` chunks ahead of the writer, so the worker builds ahead while the database stores,
    but the rows waiting here stay a few chunks."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker: build, send, and leave without running anything of the parent's
        status = 1
        try:
            os.close(read_end)
            for start in range(lo, hi, writer.chunk):
                end = min(hi, start + writer.chunk)
                payload = writer.format(list(map(build, jobs[start:end], keys[start:end])))
                write_frame(write_end, flat_dumps((end - start, payload)))
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    frames: queue.Queue[bytes | None] = queue.Queue(maxsize=_FRAMES_AHEAD)
    threading.Thread(target=read_frames, args=(read_end, frames), daemon=True).start()
    return pid, frames


class _Writer:
    """Rows into the outbox in chunks: ``format`` turns a chunk of rows into what ``write`` stores
    (it runs in a row-building worker too), ``write`` stores it in this process's transaction."""

    chunk: int
    count: int = 0

    def format(self, rows: Sequence[Sequence[Any]]) -> Any:
        raise NotImplementedError

    def write(self, count: int, payload: Any) -> None:
        raise NotImplementedError


@contextmanager
def _writer(conn: Connection, names: list[str], constants: dict[str, Any]) -> Iterator[_Writer]:
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(
            f'COPY "{_OUTBOX.name}" ({", ".join(_quoted([*names, *constants]))}) FROM STDIN'
        ) as copy:
            yield _CopyWriter(copy, constants)
        return
    sqlite = _SqliteWriter(conn, names, constants)
    try:
        yield sqlite
    finally:
        sqlite.close()


_SQLITE_CHUNK = 5000
_SQLITE_WRITE_CACHE_KIB = 64 * 1024


class _SqliteWriter(_Writer):
    """The driver's executemany, in chunks. The constants are literals in the statement, bound once
    for the whole write instead of once per row, so a row is the tuple of its own columns only;
    ``messages`` (most of a row's bytes) goes as UTF-8 and is cast back to TEXT by SQLite, so the
    text is not decoded when a worker's chunk is read (`_fork_builder`) nor encoded again to bind."""

    chunk = _SQLITE_CHUNK

    def __init__(self, conn: Connection, names: list[str], constants: dict[str, Any]) -> None:
        self.conn = conn
        dialect = conn.dialect
        processors = {
            name: _OUTBOX.c[name].type._cached_bind_processor(dialect) for name in (*names, *constants)
        }
        fixed = [
            value if value is None or processors[name] is None or isinstance(value, str | int) else
            processors[name](value)  # type: ignore[misc]
            for name, value in constants.items()
        ]  # fmt: skip
        # Columns whose type converts values on the way in (the UTC datetimes): usually the same few
        # values on every row, so each is converted once.
        self.converters = [
            (position, process)
            for position, name in enumerate(names)
            if name not in _JSON_COLUMNS and (process := processors[name]) is not None
        ]
        self.converted: dict[Any, Any] = {}
        self.encoded = names.index(_ENCODED) if _ENCODED in names else None
        places = ["CAST(? AS TEXT)" if name == _ENCODED else "?" for name in names]
        self.sql = (
            f'INSERT INTO "{_OUTBOX.name}" ({", ".join(_quoted([*names, *constants]))}) '
            f"VALUES ({', '.join([*places, *map(_sqlite_literal, fixed)])})"
        )
        self.cache_size: Any = None

    def _convert(self, row: Sequence[Any]) -> tuple[Any, ...]:
        out = list(row)
        for position, process in self.converters:
            raw = out[position]
            if raw is not None and not isinstance(raw, str | int):
                if raw not in self.converted:
                    self.converted[raw] = process(raw)
                out[position] = self.converted[raw]
        return tuple(out)

    def format(self, rows: Sequence[Sequence[Any]]) -> list[Sequence[Any]]:
        if self.converters:
            rows = [self._convert(row) for row in rows]
        at = self.encoded
        if at is None:
            return list(rows)
        return [
            (*row[:at], text.encode(), *row[at + 1 :]) if isinstance(text := row[at], str) else row
            for row in rows
        ]

    def write(self, count: int, payload: list[Sequence[Any]]) -> None:
        if self.cache_size is None and count >= _SQLITE_CHUNK:
            # A big write: a bigger page cache for it, so that the indexes' pages it keeps coming
            # back to are not written out (spilled) and read back again and again.
            self.cache_size = self.conn.exec_driver_sql("PRAGMA cache_size").scalar()
            self.conn.exec_driver_sql(f"PRAGMA cache_size=-{_SQLITE_WRITE_CACHE_KIB}")
        self.conn.exec_driver_sql(self.sql, payload)
        self.count += count

    def close(self) -> None:
        if self.cache_size is not None:  # the connection goes back to the pool with its usual cache
            self.conn.exec_driver_sql(f"PRAGMA cache_size={int(self.cache_size)}")


_ENCODED = "messages"


def _sqlite_literal(value: Any) -> str:
    """A constant (as its type's bind processor gives it) as an SQLite literal."""
    if value is None:
        return "NULL"
    if isinstance(value, int):  # bool included: SQLite stores it as 0 or 1, as the driver binds it
        return str(int(value))
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no SQLite literal for {type(value).__name__}")


_COPY_CHUNK = 1000
_COPY_ESCAPES = (("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"))  # after the backslash itself


def _copy_field(value: Any) -> str:
    """One value in COPY's text format (``\\N`` for NULL; backslash, tab and line breaks escaped)."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        # str.replace and `in` are fast searches; str.translate would look at every character.
        if "\\" in value:
            value = value.replace("\\", "\\\\")
        for char, escaped in _COPY_ESCAPES:
            if char in value:
                value = value.replace(char, escaped)
        return value
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware UTC values only")
        return value.astimezone(UTC).isoformat()
    raise TypeError(f"no COPY text for {type(value).__name__}")


class _CopyWriter(_Writer):
    """One COPY in text format, written a chunk of lines at a time."""

    chunk = _COPY_CHUNK

    def __init__(self, copy: Any, constants: dict[str, Any]) -> None:
        self.copy = copy
        self.tail = "".join("\t" + _copy_field(value) for value in constants.values()) + "\n"

    def format(self, rows: Sequence[Sequence[Any]]) -> bytes:
        # Bytes, as COPY sends them: a worker's chunk then crosses the pipe and goes to the server
        # without being decoded and encoded again here.
        # A plain string with nothing to escape (most values) is kept as it is, without a call.
        field, tail = _copy_field, self.tail
        return "".join(
            [
                "\t".join(
                    [
                        value
                        if value.__class__ is str
                        and "\\" not in value
                        and "\n" not in value
                        and "\r" not in value
                        and "\t" not in value
                        else field(value)
                        for value in row
                    ]
                )
                + tail
                for row in rows
            ]
        ).encode()

    def write(self, count: int, payload: bytes) -> None:
        self.copy.write(payload)
        self.count += count


def _quoted(names: Sequence[str]) -> list[str]:
    return [f'"{name}"' for name in names]


def claim_due_messages(
    session: Session,
    *,
    now: datetime,
    holder: str,
    lease: timedelta,
    limit: int = 100,
    event_id: int | None = None,
) -> list[OutboxMessage]:
    """Claim pending rows that are due (and rows whose claim lapsed, e.g. after a crash).

    Each claim is a compare-and-set UPDATE that only succeeds while the row is still claimable, so two
    dispatchers (threads or replicas, SQLite or PostgreSQL) never both own a row. On PostgreSQL the
    candidates are also read with FOR UPDATE SKIP LOCKED so replicas do not queue behind each other.
    """
    claimable = sa.and_(
        col(OutboxMessage.not_before) <= now,
        sa.or_(
            sa.and_(
                col(OutboxMessage.status) == OutboxStatus.PENDING, col(OutboxMessage.next_attempt_at) <= now
            ),
            sa.and_(
                col(OutboxMessage.status) == OutboxStatus.SENDING, col(OutboxMessage.claimed_until) < now
            ),
        ),
    )
    statement = select(OutboxMessage.id).where(claimable)
    if event_id is not None:
        statement = statement.where(col(OutboxMessage.event_id) == event_id)
    statement = statement.order_by(col(OutboxMessage.id)).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    candidates = list(session.exec(statement))
    claimed: list[int] = []
    for row_id in candidates:
        result = session.execute(
            sa.update(OutboxMessage)
            .where(col(OutboxMessage.id) == row_id, claimable)
            .values(
                status=OutboxStatus.SENDING,
                claimed_by=holder,
                claimed_until=now + lease,
                attempts=OutboxMessage.attempts + 1,
            )
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(int(row_id))  # type: ignore[arg-type]
    session.flush()
    if not claimed:
        return []
    rows = session.exec(
        select(OutboxMessage).where(col(OutboxMessage.id).in_(claimed)).order_by(col(OutboxMessage.id))
    )
    return list(rows)


def record_sent(
    session: Session | Connection,
    row: OutboxMessage,
    *,
    now: datetime,
    request_id: str | None,
    sent_ids: Sequence[tuple[str, str | None]],
    recipient: str,
) -> None:
    """Mark `row` sent and keep LINE's id (and quote token) of each message it carried."""
    record_sent_many(session, [SentOutcome(row, request_id, sent_ids, recipient)], now=now)


@dataclass(frozen=True)
class SentOutcome:
    """What LINE answered for a row it accepted: its request id and each message's id and quote token."""

    row: OutboxMessage | QueuedRow
    request_id: str | None
    sent_ids: Sequence[tuple[str, str | None]]
    recipient: str


# PostgreSQL: the rows' UPDATE and their messages' INSERT in one statement (one round trip, and on
# an autocommit connection a transaction of its own: `Deliverer._record`). A data-modifying WITH runs
# to its end whether or not the INSERT reads it. The rows and the messages come as one JSON text each
# (as `insert_replies` writes them: one string to bind, the same statement text for any batch).
_PG_RECORD_SENT = sa.text(
    """
    WITH sent AS (
        UPDATE outbox_message AS o
        SET status = :sent, sent_at = :now, line_request_id = v.request_id, claimed_until = NULL,
            last_error = NULL, kind = v.kind, reply_token = v.reply_token
        FROM json_to_recordset(CAST(:rows AS json))
            AS v(id bigint, request_id varchar, kind varchar, reply_token varchar)
        WHERE o.id = v.id
    )
    INSERT INTO sent_message
        (line_message_id, quote_token, recipient, purpose, ref_type, ref_id, outbox_id, sent_at)
    SELECT m.line_message_id, m.quote_token, m.recipient, m.purpose, m.ref_type, m.ref_id, m.outbox_id, :now
    FROM json_to_recordset(CAST(:messages AS json))
        AS m(line_message_id varchar, quote_token varchar, recipient varchar, purpose varchar,
             ref_type varchar, ref_id bigint, outbox_id bigint)
    """
).bindparams(sa.bindparam("now", type_=_OUTBOX.c.sent_at.type))


def _record_sent_postgresql(
    conn: Session | Connection, outcomes: Sequence[SentOutcome], now: datetime
) -> None:
    rows = [
        {
            "id": o.row.id,
            "request_id": o.request_id,
            "kind": str(o.row.kind),
            "reply_token": o.row.reply_token,
        }
        for o in outcomes
    ]
    conn.execute(
        _PG_RECORD_SENT,
        {
            "sent": OutboxStatus.SENT.value,
            "now": now,
            "rows": _rows_json(rows),
            "messages": _rows_json(_sent_messages(outcomes)),
        },
    )


def _sent_messages(outcomes: Sequence[SentOutcome]) -> list[dict[str, Any]]:
    """The `sent_message` rows of accepted outbox rows (all but their time sent)."""
    return [
        {
            "line_message_id": message_id,
            "quote_token": quote_token,
            "recipient": o.recipient,
            "purpose": o.row.purpose,
            "ref_type": o.row.ref_type,
            "ref_id": o.row.ref_id,
            "outbox_id": o.row.id,
        }
        for o in outcomes
        for message_id, quote_token in o.sent_ids
    ]


def record_sent_many(conn: Session | Connection, outcomes: Sequence[SentOutcome], *, now: datetime) -> None:
    """`record_sent` for a batch of rows: one UPDATE (executemany) and one INSERT of their messages;
    on PostgreSQL one statement does both."""
    if not outcomes:
        return
    bind = conn.get_bind() if isinstance(conn, Session) else conn
    if bind.dialect.name == "postgresql":
        _record_sent_postgresql(conn, outcomes, now)
        return
    conn.execute(
        _UPDATE_OUTBOX_ROW,
        [
            {
                "row_id": o.row.id,
                "status": OutboxStatus.SENT,
                "sent_at": now,
                "line_request_id": o.request_id,
                "claimed_until": None,
                "last_error": None,
                "kind": o.row.kind,
                "reply_token": o.row.reply_token,
            }
            for o in outcomes
        ],
    )
    messages = [{**message, "sent_at": now} for message in _sent_messages(outcomes)]
    if messages:
        conn.execute(_INSERT_SENT_MESSAGES, messages)


def record_failure(
    session: Session | Connection,
    row: OutboxMessage | QueuedRow,
    *,
    status: OutboxStatus,
    error: str,
    retry_at: datetime | None,
) -> None:
    values: dict[str, Any] = {
        "row_id": row.id,
        "status": status,
        "last_error": error[:2000],
        "claimed_until": None,
        "kind": row.kind,
        "reply_token": row.reply_token,
    }
    if retry_at is not None:
        values["next_attempt_at"] = retry_at
    session.execute(_UPDATE_OUTBOX_ROW, values)
