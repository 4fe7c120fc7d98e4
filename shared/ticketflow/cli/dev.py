"""``ticketflow dev``: the local emulator suite (see :mod:`ticketflow.dev.serve`)."""

from __future__ import annotations

from pathlib import Path
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
    sweep_every: Annotated[float, typer.Option(
        help="Seconds between two calls of the sweep function (Cloud Scheduler's job; "
             "every minute in production).")] = 10.0,
    keep_data: Annotated[bool, typer.Option(
        help="Keep accounts, tickets, runs and indexes from one start to the next "
             "(--no-keep-data: start empty).")] = True,
    state_dir: Annotated[Path | None, typer.Option(
        help="Where the data and logs live (default .devstack/).")] = None,
    page: Annotated[Path | None, typer.Option(
        help="The built page to serve (default web/dist/).")] = None,
) -> None:
    """Start the emulator suite (a libSQL server, Firestore + triggers, Auth, Hosting,
    Cloud Tasks, the functions, the sweep job) and stop all of it on Ctrl-C. Refuses
    to start on a port in use. Data: the database keeps it in .devstack/sqld/, the
    emulators' is exported at a clean stop and imported at the next start; after a
    stop that was killed, everything starts empty together. Logs: .devstack/logs/."""
    # imported here: the emulator supervisors (and the gRPC Cloud Tasks client) are
    # not worth loading for every other command
    from ticketflow.dev.serve import dev_stack, serve_forever

    stack = dev_stack(functions_port=functions_port, firestore_port=firestore_port,
                      auth_port=auth_port, hosting_port=hosting_port,
                      tasks_port=tasks_port, database_port=database_port,
                      hosting=hosting, server=server, state_dir=state_dir, dist=page,
                      sweep_every_s=sweep_every, keep_data=keep_data)
    raise typer.Exit(serve_forever(stack, typer.echo))
