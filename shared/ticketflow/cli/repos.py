"""Repository commands: ``ticketflow index URL|PATH`` and ``ticketflow repos``.

``index`` registers the repository (a git URL, or a local directory: its work tree,
uncommitted changes included) for the local user and runs its index task on the
embedded index queue, with a progress bar, until it is ready or failed."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from ticketflow.cli.common import CliError, embedded, one_line_errors, out
from ticketflow.cli.driver import LOCAL_UID
from ticketflow.cli.text import term
from ticketflow.compose.embedded import EmbeddedApp
from ticketflow.ports.repositories import IndexRecord, context_state
from ticketflow.repo_index.fetch import RepoRejectedError


def index_with_progress(console: Console, app: EmbeddedApp, url: str,
                        ref: str | None = None) -> IndexRecord:
    """Index ``url`` at ``ref`` now, with a progress bar; a failure is printed, not
    raised (a ticket then runs without repository context and says so)."""
    try:
        with Progress(TextColumn("indexing {task.description}"), BarColumn(),
                      MofNCompleteColumn(), console=console, transient=True) as bar:
            task = bar.add_task(term(url), total=None)

            def progress(rec: IndexRecord) -> None:
                st = rec.status
                bar.update(task, completed=st.files_done, total=st.files_total or None)

            rec = app.index_repository(url, ref, owner=LOCAL_UID, on_progress=progress)
    except RepoRejectedError as exc:
        raise CliError(str(exc), 2) from None
    if rec.state == "failed":
        console.print(f"[yellow]indexing failed:[/] {term(rec.status.error)}")
    return rec


def _summary(rec: IndexRecord) -> dict[str, object]:
    return {"indexId": rec.index_id, "url": rec.url, "ref": rec.ref, "commit": rec.commit,
            "state": context_state(rec.status), "filesDone": rec.status.files_done,
            "filesTotal": rec.status.files_total, "error": rec.status.error,
            "stats": rec.stats.model_dump(by_alias=True)}


@one_line_errors
def index_cmd(
    target: Annotated[str, typer.Argument(help="Git URL (https://, file://) or a local "
                                               "directory.")],
    ref: Annotated[str | None, typer.Option(help="Branch, tag or commit (default: the "
                                                 "default branch).")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Index a repository (incrementally) so that requests can be checked against it."""
    with embedded() as application:
        rec = index_with_progress(out, application, target, ref)
        if as_json:
            out.print_json(json.dumps(_summary(rec)))
        else:
            st = rec.status
            at = f" at {rec.commit[:12]}" if rec.commit else ""
            s = rec.stats
            out.print(f"{st.state}{at}: {st.files_done}/{st.files_total} files "
                      f"({s.extracted} extracted, {s.copied + s.kept} unchanged, "
                      f"{s.removed} removed)")
        if rec.state == "failed":
            raise typer.Exit(1)


@one_line_errors
def repos(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the registered repositories and the state of their latest index."""
    with embedded() as application:
        rows = []
        for repo in application.repositories.repositories(LOCAL_UID):
            rec = (application.repositories.get_index(repo.latest_index_id)
                   if repo.latest_index_id else None)
            rows.append((repo, rec))
        if as_json:
            out.print_json(json.dumps([{"repoId": r.repo_id, "url": r.url, "ref": r.ref,
                                        "index": _summary(i) if i else None}
                                       for r, i in rows]))
            return
        table = Table("repository", "ref", "commit", "index", "files")
        for r, i in rows:
            state = (context_state(i.status) + (f": {i.status.error}" if i.status.error
                                                else "")) if i else "none"
            table.add_row(term(r.url), term(r.ref or "(default)"),
                          (i.commit or "")[:12] if i else "", term(state),
                          f"{i.status.files_done}/{i.status.files_total}" if i else "")
        out.print(table)
