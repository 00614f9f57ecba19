"""The questionnaire engine's modes, button operations and correction codes: shared by the engine,
the LINE edge and `messages/evaluation.py`, so no room repeats their strings."""

from __future__ import annotations

from enum import StrEnum


class Mode(StrEnum):
    ASK = "ask"  # a question is waiting for its answer
    REVIEW = "review"  # every applicable question is done: submit or edit
    PICK_EDIT = "pick_edit"  # which question to edit?


class Op(StrEnum):
    """What a button (or a typed command word) asks the engine to do; short: they ride in postbacks."""

    ANSWER = "a"  # v = the answer (a rating, a choice's number)
    TOGGLE = "t"  # v = a choice's number (multi)
    DONE = "d"  # the multi selection is complete
    KEEP = "k"  # keep the answer already there (or the suggested one)
    SKIP = "s"
    BACK = "b"
    CANCEL = "x"
    HELP = "h"
    SUBMIT = "ok"
    EDIT = "e"  # from the review: choose a question to edit
    EDIT_KEY = "ek"  # v = the question's number


class Code(StrEnum):
    """Why an answer was not taken (messages/evaluation.py words each one)."""

    RATING = "rating"
    CHOICE = "choice"
    MULTI = "multi"
    MULTI_EMPTY = "multi_empty"
    NUMBER = "number"
    TOO_SMALL = "too_small"
    TOO_BIG = "too_big"
    EMPTY = "empty"
    TOO_LONG = "too_long"
    REQUIRED = "required"
    NOTHING_TO_KEEP = "nothing_to_keep"
    FIRST_QUESTION = "first_question"
    STALE = "stale"
    HELP = "help"
    REVIEW_HINT = "review_hint"
    PICK_HINT = "pick_hint"
