"""``ticketflow dev``: the local emulator suite (see :mod:`ticketflow.dev.stack`)."""

from __future__ import annotations

from typing import Annotated

import typer


def dev(
    functions_port: Annotated[int, typer.Option(help="Port of the functions.")] = 8090,
    firestore_port: Annotated[int, typer.Option(help="Firestore emulator.")] = 8080,
    auth_port: Annotated[int, typer.Option(help="Auth emulator.")] = 9099,
    hosting_port: Annotated[int, typer.Option(help="Hosting emulator.")] = 5000,
    tasks_port: Annotated[int, typer.Option(help="Cloud Tasks emulator.")] = 9022,
    database_port: Annotated[int, typer.Option(help="libSQL server (sqld).")] = 8091,
    hosting: Annotated[bool, typer.Option(help="Serve web/dist if built.")] = True,
    server: Annotated[str, typer.Option(help="gunicorn or werkzeug.")] = "gunicorn",
) -> None:
    """Start the emulator suite (a libSQL server, Firestore + triggers, Auth, Hosting,
    Cloud Tasks, the functions) and stop all of it on Ctrl-C. The database keeps its
    data in .devstack/sqld/ between starts. Logs: .devstack/logs/."""
    # imported here: the emulator supervisors (and the gRPC Cloud Tasks client) are
    # not worth loading for every other command
    from ticketflow.dev.stack import dev_stack, serve_forever

    stack = dev_stack(functions_port=functions_port, firestore_port=firestore_port,
                      auth_port=auth_port, hosting_port=hosting_port,
                      tasks_port=tasks_port,
                      database_port=database_port, hosting=hosting, server=server)
    raise typer.Exit(serve_forever(stack, typer.echo))
