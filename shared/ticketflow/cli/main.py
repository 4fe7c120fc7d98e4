"""``ticketflow``: the terminal front door of the embedded default.

This module only assembles the Typer app: the global options, and the commands
from :mod:`~ticketflow.cli.commands` (runs and tickets),
:mod:`~ticketflow.cli.repos`, :mod:`~ticketflow.cli.preflight`, :mod:`~ticketflow.cli.stats` and
:mod:`~ticketflow.cli.dev`. Exit codes are listed in :mod:`ticketflow.cli.common`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ticketflow.cli import commands, dev, preflight, repos, stats
from ticketflow.cli.common import options
from ticketflow.observability.logs import configure_logging

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Turn rough ticket requests into ready, code-aware tickets.")


@app.callback()
def main(
    db: Annotated[str | None, typer.Option(help="Database file or libSQL URL "
                                                "(default: .ticketflow/ticketflow.db, "
                                                "or TICKETFLOW_DB_URL).")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v",
                                          help="Structured logs on stderr.")] = False,
) -> None:
    options.db = db
    configure_logging("INFO" if verbose else "ERROR")


for _command in (commands.generate, commands.resume, commands.answer, commands.cancel,
                 commands.runs, commands.show, commands.edit):
    app.command()(_command)
app.command("index")(repos.index_cmd)
app.command("repos")(repos.repos)
app.command("preflight")(preflight.preflight_command)
app.command()(stats.stats)
app.command()(dev.dev)

if __name__ == "__main__":  # pragma: no cover
    app()
