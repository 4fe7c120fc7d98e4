"""The run commands of ``ticketflow``: generate, resume, answer, cancel, runs, show,
edit (``index`` and ``repos`` are in :mod:`ticketflow.cli.repos`). Each opens the
embedded app, drives or reads a run, and prints."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

import typer

from ticketflow.adapters.libsql.metrics import record_ticket_edit
from ticketflow.cli import render
from ticketflow.cli.common import (
    EXIT_FAILED,
    EXIT_WAITING,
    CliError,
    database_name,
    embedded,
    err,
    one_line_errors,
    out,
)
from ticketflow.cli.driver import LOCAL_UID, Reply, act, drive, state_of
from ticketflow.cli.repos import index_with_progress
from ticketflow.cli.text import term
from ticketflow.compose.embedded import EmbeddedApp
from ticketflow.domain import AEC, GenerationState
from ticketflow.ports.records import RunRecord
from ticketflow.samples import load_sample, sample_names

OnFindings = Literal["proceed", "edit", "cancel"]


# -- suspension policies --------------------------------------------------------------------


def _policy(on_findings: OnFindings | None, answers: dict[str, str] | None,
            skip_questions: bool, interactive: bool) -> Callable[[GenerationState],
                                                                  Reply | None]:
    def policy(state: GenerationState) -> Reply | None:
        susp = state.suspension
        assert susp is not None
        if susp.kind == "review":
            if on_findings is not None:
                return Reply(on_findings)
            if interactive:
                return render.ask_review(out, susp)
            return None
        if answers is not None:
            return Reply("answer", answers)
        if skip_questions:
            return Reply("skip")
        if interactive:
            return render.ask_questions(out, susp)
        return None

    return policy


def _load_answers(path: Path | None) -> dict[str, str] | None:
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise CliError(f"{path} is not a text file: give a JSON object of question id "
                       "-> answer text", 2) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise CliError(f"cannot read answers from {path}: {exc}", 2) from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise CliError(f"{path} must be a JSON object of question id -> answer text", 2)
    return {str(k): v for k, v in data.items()}


def _finish(application: EmbeddedApp, run: RunRecord, as_json: bool) -> None:
    """Print the outcome and exit with the code that says what happened."""
    run, state = state_of(application, run.run_id)
    aec = application.documents.get(run.aec_id)
    if as_json:
        out.print_json(json.dumps(render.run_json(run, state, aec)))
    else:
        render.outcome(out, run, state, aec)
    if run.status == "suspended":
        raise typer.Exit(EXIT_WAITING)
    if run.status == "failed":
        raise typer.Exit(EXIT_FAILED)


def _run(application: EmbeddedApp, run_id: str, policy: Callable[[GenerationState],
                                                                  Reply | None],
         as_json: bool, interactive: bool) -> RunRecord:
    printer = render.ProgressPrinter(err if as_json else out, quiet=as_json)
    return drive(application, run_id, policy, on_progress=printer,
                 on_rejected=(lambda r: out.print(f"[yellow]rejected:[/] {term(r.reason)}"))
                 if interactive else None)


# -- commands -----------------------------------------------------------------------------


@one_line_errors
def generate(
    title: Annotated[str | None, typer.Option(help="Ticket title.")] = None,
    description: Annotated[str, typer.Option(help="What is asked, in your words.")] = "",
    repo: Annotated[str | None, typer.Option(help="Repository to validate against: a git "
                                             "URL (https://, file://) or a local "
                                             "directory.")] = None,
    ref: Annotated[str | None, typer.Option(help="Branch, tag or commit of --repo.")] = None,
    sample: Annotated[str | None, typer.Option(help="A bundled sample request: "
                                               + ", ".join(sample_names()))] = None,
    on_findings: Annotated[OnFindings | None, typer.Option(
        help="Answer a findings review without asking.")] = None,
    answers: Annotated[Path | None, typer.Option(help="JSON file: question id -> answer.")
                       ] = None,
    skip_questions: Annotated[bool, typer.Option(help="Skip clarifying questions.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run and ticket as JSON.")
                       ] = False,
) -> None:
    """Create a ticket from a request and run the 11 steps, live."""
    if sample:
        s = load_sample(sample)
        title = title or s.title
        description = description or s.description
        repo = repo or (str(s.repo) if s.repo else None)
    if not title or not title.strip():
        raise CliError("a title is required (--title, or --sample NAME)", 2)
    interactive = sys.stdin.isatty() and sys.stdout.isatty() and not as_json
    answer_map = _load_answers(answers)
    with embedded() as application:
        repo_url = None
        if repo:
            rec = index_with_progress(err if as_json else out, application, repo, ref)
            repo_url = rec.url
        aec = application.documents.create(AEC.new(
            aec_id="aec-" + uuid.uuid4().hex[:12], owner_id=LOCAL_UID, title=title,
            description=description, repo=repo_url, repo_ref=ref))
        run = application.engine.start(aec.id, uid=LOCAL_UID)
        if not as_json:
            out.print(f"ticket [bold]{term(aec.id)}[/]  run [bold]{term(run.run_id)}[/]  "
                      f"({application.llm.provider.name}"
                      f"{', offline: no AI' if application.llm.provider.offline else ''})")
        run = _run(application, run.run_id,
                   _policy(on_findings, answer_map, skip_questions, interactive),
                   as_json, interactive)
        _finish(application, run, as_json)


@one_line_errors
def resume(
    run_id: Annotated[str | None, typer.Argument(help="Run to continue (default: every "
                                                      "unfinished run).")] = None,
    on_findings: Annotated[OnFindings | None, typer.Option()] = None,
    answers: Annotated[Path | None, typer.Option()] = None,
    skip_questions: Annotated[bool, typer.Option()] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Continue a run after a crash or a stop, answering suspensions as told."""
    interactive = sys.stdin.isatty() and sys.stdout.isatty() and not as_json
    policy = _policy(on_findings, _load_answers(answers), skip_questions, interactive)
    with embedded() as application:
        if run_id is None:
            application.engine.sweep(grace_s=0.0)  # repairs what a killed process left
            runs = [r for r in application.runs.list_runs(500) if r.active]
            if not runs:
                out.print("no unfinished runs")
                return
            for r in runs:
                _run(application, r.run_id, policy, as_json, interactive)
            if len(runs) == 1:
                _finish(application, runs[0], as_json)
            return
        run = _run(application, _known_run(application, run_id).run_id, policy, as_json,
                   interactive)
        _finish(application, run, as_json)


@one_line_errors
def answer(
    run_id: Annotated[str, typer.Argument()],
    answer_opt: Annotated[list[str] | None, typer.Option(
        "--answer", "-a", help="QUESTION_ID=TEXT, repeatable.")] = None,
    answers: Annotated[Path | None, typer.Option(help="JSON file: question id -> answer.")
                       ] = None,
    skip: Annotated[bool, typer.Option(help="Skip the questions.")] = False,
    decision: Annotated[OnFindings | None, typer.Option(
        "--decision", help="At a findings review: proceed, edit or cancel.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Answer a waiting run (questions, or a findings review) and continue it."""
    given = _load_answers(answers) or {}
    for item in answer_opt or []:
        if "=" not in item:
            raise CliError(f"--answer takes QUESTION_ID=TEXT, got {item!r}", 2)
        k, v = item.split("=", 1)
        given[k.strip()] = v
    with embedded() as application:
        run = _known_run(application, run_id)
        if decision:
            reply = Reply(decision)
        elif skip:
            reply = Reply("skip")
        elif given:
            reply = Reply("answer", given)
        else:
            raise CliError("nothing to submit: give --answer, --answers, --skip or "
                           "--decision", 2)
        record = act(application, run, reply)
        if record.status == "rejected":
            raise CliError(f"rejected: {record.reason}")
        if not as_json:
            out.print(f"accepted: {reply.type}")
        run = _run(application, run.run_id, _policy(None, None, False, False), as_json, False)
        _finish(application, run, as_json)


@one_line_errors
def cancel(run_id: Annotated[str, typer.Argument()]) -> None:
    """Cancel a running or waiting generation; the ticket goes back to draft."""
    with embedded() as application:
        run = _known_run(application, run_id)
        record = application.engine.cancel(run.run_id, uid=run.owner_id)
        if record.status == "rejected":
            raise CliError(f"cannot cancel: {record.reason}")
        out.print(f"cancelled {term(run.run_id)}; ticket {term(run.aec_id)} is a draft again")


@one_line_errors
def runs(
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List recent runs with their status and step."""
    with embedded(read_only=True) as application:
        items = application.runs.list_runs(limit)
        if as_json:
            data = []
            for r in items:
                _, st = state_of(application, r.run_id)
                data.append(render.run_json(r, st, None))
            out.print_json(json.dumps(data))
        else:
            render.runs_table(out, items)


@one_line_errors
def show(
    aec_id: Annotated[str, typer.Argument(help="Ticket id (or a run id).")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show a ticket: status, content, findings, and its latest run."""
    with embedded(read_only=True) as application:
        aec = application.documents.get(aec_id)
        if aec is None:
            run = application.runs.get_run(aec_id)
            aec = application.documents.get(run.aec_id) if run else None
        if aec is None:
            raise CliError(f"no ticket or run {aec_id} in {database_name()}")
        latest = application.runs.list_runs(1, aec_id=aec.id)
        if as_json:
            run_data = None
            if latest:
                r, st = state_of(application, latest[0].run_id)
                run_data = render.run_json(r, st, None)["run"]
            out.print_json(json.dumps({"aec": aec.doc(), "run": run_data}, default=str))
        else:
            render.aec_view(out, aec)


@one_line_errors
def edit(
    aec_id: Annotated[str, typer.Argument(help="Ticket id.")],
    title: Annotated[str | None, typer.Option()] = None,
    description: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Edit a ticket's request; refused while a generation holds its lock."""
    changes = {k: v for k, v in (("title", title), ("description", description)) if v is not None}
    if not changes:
        raise CliError("nothing to change: give --title and/or --description", 2)
    with embedded() as application:
        before = application.documents.get(aec_id)
        if before is None:
            raise CliError(f"no ticket {aec_id} in {database_name()}")
        application.documents.mutate(aec_id, lambda a: a.edit(title=title,
                                                              description=description))
        record_ticket_edit(application.db, aec_id, uid=LOCAL_UID, fields=changes,
                           status_before=before.status.value)
        out.print(f"edited {term(aec_id)}: {', '.join(sorted(changes))}")


def _known_run(application: EmbeddedApp, run_id: str) -> RunRecord:
    run = application.runs.get_run(run_id)
    if run is None:
        raise CliError(f"no run {run_id} in {database_name()}")
    return run
