"""A LINE user talking to the product in the evaluation tests: each call sends one event through the
emulator and returns the text of what came back (Flex alt texts and texts included)."""

from __future__ import annotations

from typing import Any


def _actions(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        found = [node] if node.get("type") == "postback" and "label" in node else []
        return found + [a for v in node.values() for a in _actions(v)]
    if isinstance(node, list):
        return [a for v in node for a in _actions(v)]
    return []


def _texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [str(node["text"])] if node.get("type") == "text" and "text" in node else []
        own += [str(node["altText"])] if "altText" in node else []
        return own + [t for v in node.values() for t in _texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in _texts(v)]
    return []


class Teacher:
    """One LINE user: each call sends an event and returns the text of what came back."""

    def __init__(self, fake: Any, user: str) -> None:
        self.fake, self.user, self.last = fake, user, []

    def _send(self, event: dict[str, Any]) -> str:
        before = len(self.fake.deliveries_to(self.user))
        assert self.fake.send_sync(event).status_code == 200
        self.fake.wait_for(lambda: len(self.fake.deliveries_to(self.user)) > before, timeout=15)
        self.last = [m for d in self.fake.deliveries_to(self.user)[before:] for m in d.messages]
        return "\n".join(_texts(self.last))

    def say(self, text: str) -> str:
        return self._send(self.fake.text_event(self.user, text))

    def tap(self, label: str, messages: list[dict[str, Any]] | None = None) -> str:
        actions = _actions(messages if messages is not None else self.last)
        data = next((a["data"] for a in actions if a["label"] == label), None)
        assert data is not None, f"no button {label!r} in {[a['label'] for a in actions]}"
        return self._send(self.fake.postback_event(self.user, data))
