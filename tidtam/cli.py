"""The `tidtam` command. Sub-commands live in `tidtam/commands/`, one module per concern, each with a
`register(app)` function; this module only discovers and mounts them."""

from __future__ import annotations

import importlib
import pkgutil

import typer

from tidtam import commands

app = typer.Typer(
    name="tidtam",
    help="Tidtam: LINE follow-up of quarterly project reports for Thai area offices.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _mount_commands() -> None:
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_mount_commands()

if __name__ == "__main__":
    app()
