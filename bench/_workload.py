"""The no-op workload shared by the orchestration benchmarks (W1 embedded, W2 cloud):
every step returns about 1 KB, step 4 finds a critical finding, step 9 asks."""

from __future__ import annotations

import functools

from ticketflow.workflow.steps.base import StepOutput


class BenchOutput(StepOutput):
    blob: list[str]


@functools.cache
def bench_output(step: str) -> type[BenchOutput]:
    """The output model of ``step`` in the no-op workflow: :class:`BenchOutput` whose
    ``STEP`` names the step, as the workflow definition requires of every output."""
    return type(f"BenchOutput_{step}", (BenchOutput,), {"STEP": step, "__module__": __name__})


BLOB = [f"{i:02d}:" + "x" * 64 for i in range(14)]  # about 1 KB once serialised
FINDINGS = [{
    "id": "f-bench0001", "kind": "missing_file", "severity": "critical",
    "evidence": "in billing/pdf_renderer.py",
    "message": "The request refers to the file `billing/pdf_renderer.py`, which does not "
               "exist in the repository.",
    "suggestion": "Did you mean `billing/pdf.py`?",
}]
QUESTIONS = [{"id": "q1", "text": "Which invoices are affected?", "why": "scope",
              "choices": ["paid", "all"]}]
