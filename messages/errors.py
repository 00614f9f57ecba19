"""The value every parser raises when a user's answer cannot be used.

An ``InputError`` carries one short, polite Thai line saying what was wrong (``message``) and a Thai
example of a right answer (``example``), so the chat layer can reply with both instead of failing.
"""

from __future__ import annotations

__all__ = ["InputError"]


class InputError(ValueError):
    """Bad user input, with a Thai explanation and an example of a right answer."""

    message: str
    example: str

    def __init__(self, message: str, example: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.example = example

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"InputError(message={self.message!r}, example={self.example!r})"

    @property
    def reply_text(self) -> str:
        """The message followed by the example on its own line, ready to send back to the user."""
        return f"{self.message}\n{self.example}" if self.example else self.message
