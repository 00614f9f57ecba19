"""`tidtam forms`: the chat forms the bot knows, and `--diagram` to draw each one as Mermaid; given a
questionnaire file (YAML or a workbook), that questionnaire."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("forms")
    def forms(
        name: str | None = typer.Argument(
            None, help="One form's name, or a questionnaire file (.yaml, .yml, .xlsx); default: every form."
        ),
        diagram: bool = typer.Option(False, "--diagram", help="Print the Mermaid flowchart of the form(s)."),
    ) -> None:
        """List the declared chat forms, or print their Mermaid diagrams."""
        from bot.forms.runtime import FORMS

        if name is not None and name not in FORMS and name.lower().endswith((".yaml", ".yml", ".xlsx")):
            _questionnaire(name, diagram)  # issue 19: a questionnaire file
            return
        if name is not None and name not in FORMS:
            typer.echo(f"no form named {name!r}; known: {', '.join(sorted(FORMS))}", err=True)
            raise typer.Exit(2)
        chosen = [FORMS[name]] if name is not None else [FORMS[n] for n in sorted(FORMS)]
        for index, form in enumerate(chosen):
            if not diagram:
                typer.echo(f"{form.name}\t{form.title}\t{len(form.fields)} fields")
                continue
            if index:
                typer.echo("")
            typer.echo(f"%% {form.name}: {form.title}")
            typer.echo(form.mermaid())


def _questionnaire(path: str, diagram: bool) -> None:
    from pathlib import Path

    from tidtam.commands.evaluation import load_or_exit

    questionnaire = load_or_exit(Path(path))
    if not diagram:
        typer.echo(f"{questionnaire.name}\t{questionnaire.title}\t{len(questionnaire.questions)} questions")
        return
    typer.echo(f"%% {questionnaire.name}: {questionnaire.title}")
    typer.echo(questionnaire.mermaid())
