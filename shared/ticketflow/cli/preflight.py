"""``ticketflow preflight``: steps 1-3 and 5 alone (no ticket, no run, no suspension).

Indexes the repository first (incrementally: a local directory in place, a git URL
through the index task), then prints the ranked files step 5
retrieves and the findings step 3 raises. With ``--json`` the document is::

    {"retrieved_files": ["path", ...],
     "findings": [{"kind", "severity", "evidence", "message", "suggestion"}, ...],
     "index_state": "ready", "repo_context": "..."}

Exit code 0 whatever the findings are (they are the answer, not an error).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ticketflow.cli.common import CliError, embedded, err, one_line_errors, out
from ticketflow.cli.repos import index_with_progress
from ticketflow.cli.text import term
from ticketflow.compose.preflight import run_preflight
from ticketflow.domain import RepoContext
from ticketflow.ports.repositories import context_state


@one_line_errors
def preflight_command(
    title: Annotated[str, typer.Option(help="Ticket title.")],
    description: Annotated[str, typer.Option(help="What is asked, in your words.")] = "",
    repo: Annotated[str | None, typer.Option(help="Repository to check against: a local "
                                             "directory or a git URL.")] = None,
    ref: Annotated[str | None, typer.Option(help="Branch, tag or commit of a git URL.")
                   ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")
                       ] = False,
) -> None:
    """Check a request against the code (steps 1-3 and 5) without creating a ticket."""
    if not title.strip():
        raise CliError("a title is required (--title)", 2)
    with embedded() as application:
        repository: RepoContext | None = None
        repo_name = repo
        if repo and Path(repo).expanduser().is_dir():
            # a directory is indexed in place and keyed by its path, so step 3 can read
            # the files it names from disk
            repo_name = str(Path(repo).expanduser().resolve())
            status = application.index.index(repo_name)
            if status.state == "failed":
                (err if as_json else out).print(f"[yellow]indexing failed:[/] {term(status.error)}")
        elif repo:
            rec = index_with_progress(err if as_json else out, application, repo, ref)
            repository = RepoContext(url=rec.url, ref=rec.ref, commit=rec.commit,
                                     index_id=rec.index_id, status=context_state(rec.status))
        report = run_preflight(title, description, repo=repo_name,
                               index=application.index, llm=application.llm,
                               index_wait_s=application.settings.index_wait_s,
                               fallback=application.engine.deps.fallback,
                               repository=repository)
    if as_json:
        typer.echo(json.dumps(report.as_json(), indent=2))
        return
    out.print(f"[bold]{report.detection.type.value}[/] "
              f"({report.detection.confidence:.0%}); repository context: "
              f"{term(report.repo_detail)}")
    out.print("[bold]retrieved files[/]")
    for hit in report.retrieved:
        out.print(f"  {hit.score:6.3f}  {term(hit.path)}")
    if not report.retrieved:
        out.print("  (none)")
    out.print("[bold]findings[/]")
    for f in report.findings:
        colour = {"critical": "red", "warning": "yellow"}.get(f.severity.value, "cyan")
        out.print(f"  [{colour}]{f.severity.value}[/] {f.kind.value}: {term(f.message)}")
        out.print(f"      evidence: {term(f.evidence)}")
        if f.suggestion:
            out.print(f"      suggestion: {term(f.suggestion)}")
    if not report.findings:
        out.print("  (none)")
