"""Identifiers shaped like LINE's (user/group/room ids, ULIDs, message ids, tokens)."""

from __future__ import annotations

import itertools
import re
import secrets
import threading
import time
import uuid

USER_ID_RE = re.compile(r"^U[0-9a-f]{32}$")
GROUP_ID_RE = re.compile(r"^C[0-9a-f]{32}$")
ROOM_ID_RE = re.compile(r"^R[0-9a-f]{32}$")

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_user_id() -> str:
    """A fresh user id, ``U`` + 32 lower-case hex digits."""
    return "U" + secrets.token_hex(16)


def new_group_id() -> str:
    return "C" + secrets.token_hex(16)


def new_room_id() -> str:
    return "R" + secrets.token_hex(16)


def ulid() -> str:
    """A ULID (26 Crockford base32 characters: 48-bit ms timestamp + 80 random bits)."""
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in range(25, -1, -1))


def reply_token() -> str:
    return secrets.token_hex(16)


def quote_token() -> str:
    return "q" + secrets.token_urlsafe(48)


def request_id() -> str:
    return str(uuid.uuid4())


_msg_lock = threading.Lock()
_msg_counter = itertools.count(int(time.time() * 1000) * 100_000)


def message_id() -> str:
    """A numeric-string message id (LINE's are 18-digit decimals), unique in this process."""
    with _msg_lock:
        return str(next(_msg_counter))
