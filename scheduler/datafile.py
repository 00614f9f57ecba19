"""Reading the scheduler's TOML data files: the packaged default, or a file an office supplies."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any


def read_toml(
    path: Path | None, default_name: str, error: type[Exception], what: str
) -> tuple[str, dict[str, Any]]:
    """`(source name, parsed document)` of `path`, or of `scheduler/data/<default_name>` when None.

    Any failure to read or parse raises `error` with a message naming the file.
    """
    try:
        if path is None:
            text = resources.files("scheduler").joinpath("data", default_name).read_text(encoding="utf-8")
            source = default_name
        else:
            text = path.read_text(encoding="utf-8")
            source = str(path)
    except OSError as exc:
        raise error(f"cannot read {what} file {path}: {exc}") from exc
    try:
        return source, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{source}: not valid TOML: {exc}") from exc
