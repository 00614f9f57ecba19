"""Sub-commands of `tidtam`; each module exposes `register(app: typer.Typer)`."""
