"""The workflow: the eleven steps as data (:mod:`~ticketflow.workflow.definition`), the
runtime that claims, executes, commits, dispatches and projects them
(:mod:`~ticketflow.workflow.runtime`), a person's actions
(:mod:`~ticketflow.workflow.actions`), and one module per step in ``steps/``."""
