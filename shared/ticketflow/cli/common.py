"""What every ``ticketflow`` command shares: the consoles, the one-line error
guard, the global options and the embedded app they open.

Exit codes: 0 done (ready, or a stop the user asked for), 1 error, 2 bad usage,
3 the run is waiting for a person (continue it with ``answer`` or ``resume``),
4 the run failed (the error is printed and kept on the ticket).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import typer
from libsql_client import LibsqlError
from pydantic import ValidationError
from rich.console import Console

from ticketflow.adapters.libsql.database import (
    DatabaseAuthError,
    DatabaseUnavailableError,
    file_path,
)
from ticketflow.cli.driver import ActionRejectedError
from ticketflow.cli.text import term
from ticketflow.compose.embedded import EmbeddedApp, open_embedded
from ticketflow.domain import DomainError
from ticketflow.observability.redact import redact_text, redact_url
from ticketflow.settings import ConfigurationError, Settings
from ticketflow.workflow.runtime import FaultHook

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
F = TypeVar("F", bound=Callable[..., Any])
EXIT_WAITING, EXIT_FAILED = 3, 4


@dataclass
class Options:
    """The global options of one invocation (``--db``), and what only the crash-test
    entry point (:mod:`ticketflow.testing.crash`) sets: the engine's fault hook and a
    ``prepare`` call given each app before use (its instrumentation)."""

    db: str | None = None
    faults: FaultHook | None = None
    prepare: Callable[[EmbeddedApp], object] | None = None


options = Options()


class CliError(Exception):
    """A user-facing error: printed as one line."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` as one line on stderr (secrets redacted, markup and controls
    neutralised) and return the exit to raise."""
    err.print(f"[red]error:[/] {term(redact_text(message, _token()))}", soft_wrap=True)
    return typer.Exit(code)


def _token() -> str | None:
    return Settings().db_auth_token


def database_name() -> str:
    """The database the command uses, as it may be shown (tokens redacted)."""
    return redact_url(options.db or Settings().db_url)


def one_line_errors(fn: F) -> F:
    """Errors are one clear line on stderr, never a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ConfigurationError as exc:
            raise fail(str(exc)) from None
        except CliError as exc:
            raise fail(str(exc), exc.code) from None
        except (DomainError, ActionRejectedError, LookupError, PermissionError,
                TimeoutError) as exc:
            raise fail(str(exc)) from None
        except ValidationError as exc:
            e = exc.errors()[0]
            where = ".".join(str(p) for p in e.get("loc", ()))
            raise fail(f"invalid {where or 'input'}: {e.get('msg')}", 2) from None
        except (DatabaseUnavailableError, DatabaseAuthError) as exc:
            raise fail(str(exc)) from None  # it names the database (token redacted)
        except (LibsqlError, sqlite3.Error, OSError) as exc:
            raise fail(f"database {database_name()}: {exc}") from None

    return wrapper  # type: ignore[return-value]


@contextmanager
def embedded(*, read_only: bool = False) -> Iterator[EmbeddedApp]:
    """The embedded app on the database the options name, closed on exit.
    ``read_only`` commands work on a database they cannot write."""
    settings = Settings()
    db = options.db
    if db:
        settings = settings.model_copy(update={"db_url": db if ":" in db else f"file:{db}"})
    options.db = settings.db_url
    path = file_path(settings.db_url)
    if read_only and path is not None and not Path(path).exists():
        read_only = False  # nothing to protect: an empty database answers "none yet"
    try:
        application = open_embedded(settings, faults=options.faults, read_only=read_only)
    except (DatabaseUnavailableError, DatabaseAuthError) as exc:
        raise CliError(f"cannot open the database: {exc}") from None
    except (LibsqlError, sqlite3.Error, OSError) as exc:
        raise CliError(f"cannot open the database {database_name()}: {exc}") from None
    if options.prepare is not None:
        options.prepare(application)
    try:
        yield application
    finally:
        application.close()
