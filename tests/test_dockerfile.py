"""The image holds every package the project installs: a package missing from the Dockerfile's COPY lines
installs nothing for it, and the service fails at its first import in production only."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _packages() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    return sorted({pattern.rstrip("*").rstrip(".") for pattern in include})


def _copied() -> set[str]:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    return {m.group(1) for m in re.finditer(r"^COPY\s+(\w+)\s+\./\1\s*$", dockerfile, re.MULTILINE)}


def test_the_image_copies_every_installed_package() -> None:
    packages = _packages()
    assert "bot" in packages and "evaluation" in packages  # the include list is read as meant
    missing = [name for name in packages if name not in _copied()]
    assert missing == []


def test_every_copied_package_is_a_folder_of_the_project() -> None:
    for name in _copied():
        assert (ROOT / name / "__init__.py").is_file(), name
