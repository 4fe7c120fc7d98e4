"""Terminal views for the CLI: live step progress, suspension prompts, the ticket."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.prompt import Prompt
from rich.table import Column, Table

from ticketflow.cli.driver import Reply
from ticketflow.cli.text import term
from ticketflow.domain import AEC, GenerationState, Suspension
from ticketflow.ports.records import RunRecord
from ticketflow.workflow.definition import CURRENT, DEFINITIONS

ICONS = {"waiting": "·", "running": "▶", "done": "✔", "skipped": "↷", "degraded": "⚠",
         "failed": "✖", "suspended": "⏸"}
STYLE = {"done": "green", "skipped": "dim", "degraded": "yellow", "failed": "red",
         "suspended": "cyan", "running": "bold"}
SEVERITY = {"critical": "bold red", "warning": "yellow", "info": "dim"}


class ProgressPrinter:
    """Prints each step once when it changes state (works in a terminal and a pipe)."""

    def __init__(self, console: Console, *, quiet: bool = False) -> None:
        self.console = console
        self.quiet = quiet
        self.seen: dict[int, str] = {}

    def __call__(self, state: GenerationState) -> None:
        if self.quiet:
            return
        for step in state.steps:
            key = f"{step.status}:{step.detail}"
            if step.status == "waiting" or self.seen.get(step.index) == key:
                continue
            if step.status == "running" and step.index in self.seen:
                continue
            self.seen[step.index] = key
            style = STYLE.get(step.status, "")
            detail = f" — {term(step.detail)}" if step.detail else ""
            self.console.print(
                f"[{style}]{ICONS[step.status]} [{step.index:>2}/{state.total_steps}] "
                f"{term(step.title)}: {step.status}[/]{detail}")


def ask_review(console: Console, susp: Suspension) -> Reply:
    console.print("\n[bold red]Critical findings need your review[/]")
    for f in susp.findings:
        console.print(f"  [{SEVERITY[f.severity.value]}]{f.severity.value.upper()}[/] "
                      f"{term(f.message)}")
        console.print(f"    evidence: [italic]{term(f.evidence)}[/]")
        if f.suggestion:
            console.print(f"    suggestion: {term(f.suggestion)}")
    choice = Prompt.ask("proceed anyway, edit the request, or cancel (delete the ticket)?",
                        choices=["proceed", "edit", "cancel"], default="proceed",
                        console=console)
    return Reply(choice)  # type: ignore[arg-type]


def ask_questions(console: Console, susp: Suspension) -> Reply:
    console.print("\n[bold cyan]A few questions would sharpen this ticket[/] "
                  "(empty answer skips a question; type 'skip all' to skip them all)")
    answers: dict[str, str] = {}
    for i, q in enumerate(susp.questions, 1):
        console.print(f"[bold]{i}/{len(susp.questions)}[/] {term(q.text)}")
        a = Prompt.ask("  answer", default="", console=console).strip()
        if a.lower() == "skip all":
            return Reply("skip")
        if a:
            answers[q.id] = a
    return Reply("answer", answers) if answers else Reply("skip")


def outcome(console: Console, run: RunRecord, state: GenerationState, aec: AEC | None) -> None:
    if run.status == "completed" and aec is not None:
        aec_view(console, aec)
    elif run.status == "failed":
        e = run.error
        console.print(f"[bold red]failed[/] at step {e.step if e else '?'}: "
                      f"{term(e.message) if e else 'unknown error'}")
        console.print(f"the error is kept on ticket {term(run.aec_id)}; it is unlocked again")
    elif run.status == "cancelled":
        what = {"deleted": "the ticket was deleted",
                "edit": "the ticket is a draft again: edit it and generate again",
                "wait_expired": "nobody answered in time; the ticket is a draft again",
                }.get(run.cancel_reason or "", "the ticket is a draft again")
        console.print(f"[yellow]cancelled[/] ({term(run.cancel_reason)}): {what}")
    elif run.status == "suspended" and state.suspension is not None:
        if state.suspension.kind == "review":
            console.print(f"run {run.run_id} is waiting for a review of critical findings.\n"
                          f"  continue: ticketflow answer {run.run_id} --decision "
                          "proceed|edit|cancel")
        else:
            ids = term(", ".join(q.id for q in state.suspension.questions))
            console.print(f"run {run.run_id} is waiting for answers to {ids}.\n"
                          f"  continue: ticketflow answer {run.run_id} -a "
                          f"{term(state.suspension.questions[0].id)}=TEXT ...   (or --skip)")


def aec_view(console: Console, aec: AEC) -> None:
    label = ""
    if aec.generated_by is not None:
        label = (" [yellow](offline heuristics, no AI)[/]" if aec.generated_by.offline
                 else f" [dim]({term(aec.generated_by.name)} "
                      f"{term(aec.generated_by.model or '')})[/]")
    console.print(f"\n[bold]{term(aec.title)}[/]  {term('[' + aec.status.value + ']')}"
                  f"{' locked by ' + term(aec.locked_by or '') if aec.locked else ''}{label}")
    if aec.fallback_steps:
        console.print("[yellow]produced without AI (offline fallback after the model failed):"
                      f"[/] {term(', '.join(aec.fallback_steps))}")
    if aec.type:
        console.print(f"type: {aec.type.value} ({(aec.type_confidence or 0):.0%})")
    if aec.error:
        console.print(f"[red]error:[/] {term(aec.error.message)}")
    for title, items in (("Acceptance criteria", aec.acceptance_criteria),
                         ("Assumptions", aec.assumptions), ("Repository paths", aec.repo_paths)):
        if items:
            console.print(f"\n[bold]{title}[/]")
            for it in items:
                console.print(f"  • {term(it)}")
    if aec.findings:
        console.print("\n[bold]Findings[/]")
        for f in aec.findings:
            console.print(f"  [{SEVERITY[f.severity.value]}]{f.severity.value}[/] "
                          f"{term(f.message)}")
    if aec.refinements:
        console.print("\n[bold]Changed by your answers[/]")
        for r in aec.refinements:
            console.print(f"  {term(r.question_id)}: {term(r.change)}")


def runs_table(console: Console, runs: list[RunRecord]) -> None:
    """One row per run. Run ids are what ``resume``, ``show`` and ``cancel`` take, so
    they are never cut or wrapped, however narrow the terminal; the other columns give
    way (fold) instead."""
    width = max((len(term(r.run_id)) for r in runs), default=3)
    t = Table(Column("run", no_wrap=True, min_width=width),
              Column("ticket", overflow="fold"), Column("status", overflow="fold"),
              "step", Column("updated", overflow="fold"))
    for r in runs:
        definition = DEFINITIONS.get(r.workflow_version, CURRENT)
        total = definition.total
        t.add_row(term(r.run_id), term(r.aec_id), r.status,
                  f"{min(r.step_index, total)}/{total}",
                  r.updated_at.strftime("%Y-%m-%d %H:%M:%S"))
    console.print(t)


def run_json(run: RunRecord, state: GenerationState, aec: AEC | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "run": {"runId": run.run_id, "aecId": run.aec_id, "status": run.status,
                "workflowVersion": run.workflow_version, "currentStep": state.current_step,
                "steps": [s.doc() for s in state.steps],
                "suspension": state.suspension.doc() if state.suspension else None,
                "error": run.error.doc() if run.error else None,
                "cancelReason": run.cancel_reason,
                "provider": run.provider.doc() if run.provider else None},
    }
    if aec is not None:
        data["aec"] = aec.doc()
    return data
