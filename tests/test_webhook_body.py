"""bot/webhook_body.py: each event's own text is cut from the body, and the parse agrees with json.loads."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.webhook_body import split_events

_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=12)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)
_events = st.lists(st.dictionaries(st.text(max_size=8), _values, max_size=5), max_size=4)
_layouts = st.sampled_from(
    [
        {"separators": (",", ":")},
        {"indent": 2},
        {"separators": (" , ", " : ")},
        {"ensure_ascii": False},
        {"ensure_ascii": False, "indent": "\t"},
    ]
)


@given(events=_events, extra=st.dictionaries(st.text(max_size=6), _values, max_size=3), layout=_layouts)
def test_agrees_with_json_loads_and_cuts_each_event_exactly(events, extra, layout) -> None:
    body = {k: v for k, v in extra.items() if k != "events"} | {"events": events}
    text = " \n" + json.dumps(body, **layout) + "\n"
    split = split_events(text)
    assert [event for event, _ in split] == json.loads(text)["events"]
    for event, raw in split:
        assert json.loads(raw) == event
        assert raw in text
        assert raw.startswith("{") and raw.endswith("}")


def test_a_line_body_keeps_its_text_byte_for_byte() -> None:
    event = '{"type":"message","message":{"type":"text","text":"ช่วยเหลือ \\u0e01 {\\"x\\": [1]}"}}'
    text = '{"destination":"U0","events":[' + event + ',  {"type":"unfollow"}]}'
    split = split_events(text)
    assert split[0][1] == event
    assert split[0][0]["message"]["text"] == 'ช่วยเหลือ ก {"x": [1]}'
    assert split[1] == ({"type": "unfollow"}, '{"type":"unfollow"}')


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        '"events"',
        "{",
        '{"events": [',
        '{"events": [{}',
        '{"events": [{}],',
        '{"events": [{}]} x',
        '{"events": [1]}',
        '{"events": {}}',
        '{"events": null}',
        '{"destination": "U0"}',
        '{"events": [], "events": 3}',
        "{'events': []}",
        '{"events" [] }',
        '{"events": [{}] "x": 1}',
    ],
)
def test_what_is_not_a_webhook_body_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        split_events(text)


def test_an_empty_event_list_and_a_repeated_key() -> None:
    assert split_events('{"destination": "U0", "events": []}') == []
    assert split_events('{"events": 1, "events": [{"a": 1}]}') == [({"a": 1}, '{"a": 1}')]
