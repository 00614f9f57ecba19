"""The evaluation flow's postback payloads, typed and built and parsed only here.

On the wire they are the product's versioned format (`bot/postback.py`): `v1|ev|op=…|…`.
* a button of the conversation: `v1|ev|op=<engine Op>|s=<seq>[|v=<value>]`
* an invitation's or reminder's button: `v1|ev|op=open|c=<campaign id>`
* the year-end evaluation offered after a Q4 report: `v1|ev|op=ye|r=<report id>`
Anything else under `ev` decodes to None and is answered politely by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.postback import Postback, decode, parse_int
from evaluation.codes import Op

ACTION = "ev"
_OPEN = "open"
_YEAR_END = "ye"
_MAX_VALUE = 40  # values are numbers or short codes, never free text


@dataclass(frozen=True)
class Button:
    op: Op
    seq: int
    value: str = ""


@dataclass(frozen=True)
class OpenCampaign:
    campaign_id: int


@dataclass(frozen=True)
class StartYearEnd:
    report_id: int


Payload = Button | OpenCampaign | StartYearEnd


def encode(payload: Payload) -> str:
    if isinstance(payload, OpenCampaign):
        params = {"op": _OPEN, "c": str(payload.campaign_id)}
    elif isinstance(payload, StartYearEnd):
        params = {"op": _YEAR_END, "r": str(payload.report_id)}
    else:
        params = {"op": payload.op.value, "s": str(payload.seq)}
        if payload.value:
            params["v"] = payload.value
    return Postback(ACTION, params).encode()


def parse(postback: Postback) -> Payload | None:
    if postback.action != ACTION:
        return None
    op = postback.params.get("op", "")
    if op == _OPEN:
        campaign = postback.int_param("c")
        return OpenCampaign(campaign) if campaign is not None else None
    if op == _YEAR_END:
        report = postback.int_param("r")
        return StartYearEnd(report) if report is not None else None
    try:
        known = Op(op)
    except ValueError:
        return None
    seq = parse_int(postback.params.get("s"))
    value = postback.params.get("v", "")
    if seq is None or len(value) > _MAX_VALUE:
        return None
    return Button(known, seq, value)


def parse_data(data: object) -> Payload | None:
    postback = decode(data)
    return parse(postback) if postback is not None else None
