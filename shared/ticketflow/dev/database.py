"""The libSQL database of a local stack, as one part the stack starts and stops.

A stack never builds a database URL itself: it asks its :class:`DatabasePart` for
``url`` and ``auth_token`` (what the functions get as ``TICKETFLOW_DB_URL`` and
``TICKETFLOW_DB_AUTH_TOKEN``, and what a test or benchmark opens with
:class:`~ticketflow.adapters.libsql.database.Database`), and asks its
:data:`DatabaseFactory` for each further database (one per test deployment, say).
Today every part is a :class:`FileDatabase`. A libSQL server (sqld) is one more
part: a :class:`~ticketflow.dev.emulators.Supervised` process that also has ``url``
and ``auth_token``, with a factory that hands out one per name; making it the
default is a change to the default factory of
:class:`~ticketflow.dev.stack.Stack`, not to the stacks the tests and benchmarks
assemble (they name their databases and never build a URL).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


class DatabasePart(Protocol):
    """One database of a stack: started before the functions, stopped after them."""

    name: str

    @property
    def url(self) -> str:
        """What ``TICKETFLOW_DB_URL`` is set to (``file:...``, ``http://...``)."""
        ...

    @property
    def auth_token(self) -> str | None:
        """What ``TICKETFLOW_DB_AUTH_TOKEN`` is set to (``None``: not set)."""
        ...

    @property
    def running(self) -> bool:
        """Whether it can be used now (a server process is alive)."""
        ...

    def start(self) -> None:
        """Make it usable (create the folder, start the server); raises on failure."""
        ...

    def stop(self) -> None:
        """Release it (stop the server); the data stays unless the part says otherwise."""
        ...

    def log_tail(self, lines: int = 40) -> str:
        """The end of its log, for error messages (empty when it has none)."""
        ...


DatabaseFactory = Callable[[str], DatabasePart]
"""Makes the database named ``name`` (unique within its stack); not yet started."""


@dataclass
class FileDatabase:
    """A libSQL file. ``fresh`` deletes the file (and its ``-wal`` / ``-shm``) at start,
    for a folder kept between runs."""

    path: Path
    fresh: bool = False
    name: str = "database"
    _running: bool = field(default=False, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"file:{self.path}"

    @property
    def auth_token(self) -> str | None:
        return None

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.fresh:
            for p in self.path.parent.glob(f"{self.path.name}*"):
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()
        self._running = True

    def stop(self) -> None:
        self._running = False

    def log_tail(self, lines: int = 40) -> str:
        return ""


def file_databases(folder: Path, *, fresh: bool = True) -> DatabaseFactory:
    """A factory of files ``folder/{name}.db``, emptied at start unless not ``fresh``."""

    def make(name: str) -> DatabasePart:
        return FileDatabase(folder / f"{name}.db", fresh=fresh, name=f"database-{name}")

    return make
