import { useEffect, useState } from 'react';
import { Md } from '../lib/markdown';
import { formatDuration, toMillis } from '../time';
import type { StepProgress } from '../types';
import { useWorkflowStore } from '../workflow/store';
import { FallbackBadge, STEP_STATUS_LABELS, StepIcon } from './badges';

/** Start and end (or now) of a run, from its steps' timestamps. */
export function runSpan(steps: StepProgress[]): { start: number | null; end: number | null } {
  let start: number | null = null;
  let end: number | null = null;
  for (const s of steps) {
    const a = toMillis(s.startedAt);
    const b = toMillis(s.finishedAt);
    if (a !== null && (start === null || a < start)) start = a;
    if (b !== null && (end === null || b > end)) end = b;
  }
  return { start, end };
}

function useNow(active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [active]);
  return now;
}

/** The 11 steps of the run, live from the AEC snapshot. The list folds away
 * (``expanded`` is where it starts: open while the run works, folded while it waits
 * for the person, whose step is then shown first on the page). */
export function TicketGenerationProgress({ expanded = true }: { expanded?: boolean }) {
  const [open, setOpen] = useState(expanded);
  const [touched, setTouched] = useState(false);
  useEffect(() => {
    if (!touched) setOpen(expanded);
  }, [expanded, touched]);
  const steps = useWorkflowStore((s) => s.steps);
  const currentStep = useWorkflowStore((s) => s.currentStep);
  const totalSteps = useWorkflowStore((s) => s.totalSteps);
  const workflowState = useWorkflowStore((s) => s.workflowState);
  const runStatus = useWorkflowStore((s) => s.runStatus);
  const pending = useWorkflowStore((s) => s.pending);
  const abort = useWorkflowStore((s) => s.abortGeneration);

  const running = workflowState === 'running';
  const now = useNow(running);
  const { start, end } = runSpan(steps);
  const elapsed = start === null ? null : (running ? now : (end ?? now)) - start;
  const current = steps.find((s) => s.index === currentStep);
  const aborting = pending?.type === 'abort';

  return (
    <section
      className="card progress"
      data-testid="generation-progress"
      data-run-status={runStatus ?? ''}
      aria-labelledby="progress-heading"
    >
      <header className="card-header">
        <h2 id="progress-heading">Generation</h2>
        <span className="muted" data-testid="current-step" data-step={currentStep}>
          Step {Math.min(Math.max(currentStep, 0), totalSteps)} of {totalSteps}
        </span>
        <span className="muted" data-testid="elapsed-time">
          {elapsed === null ? '' : `Elapsed ${formatDuration(elapsed)}`}
        </span>
        <button
          type="button"
          className="link"
          aria-expanded={open}
          aria-controls="progress-steps"
          onClick={() => {
            setTouched(true);
            setOpen(!open);
          }}
          data-testid="progress-toggle"
        >
          {open ? 'Hide steps' : 'Show steps'}
        </button>
        {running && (
          <button
            type="button"
            className="danger"
            data-testid="progress-cancel"
            onClick={() => void abort()}
            disabled={aborting}
          >
            {aborting ? 'Cancelling…' : 'Cancel generation'}
          </button>
        )}
      </header>
      {current?.detail && (
        <p className="step-current-detail" data-testid="step-detail" aria-live="polite">
          {current.title}: <Md text={current.detail} />
        </p>
      )}
      <ol className="steps" id="progress-steps" hidden={!open}>
        {steps.map((s) => (
          <li
            key={s.index}
            className={`step step-${s.status}${s.index === currentStep ? ' step-current' : ''}`}
            data-testid="step-row"
            data-step-index={s.index}
            data-status={s.status}
            data-fallback={s.fallback ? 'true' : undefined}
            aria-current={s.index === currentStep ? 'step' : undefined}
          >
            <StepIcon status={s.status} />
            <span className="step-title">{s.title}</span>
            <span className="step-status">{STEP_STATUS_LABELS[s.status] ?? s.status}</span>
            {s.fallback && <FallbackBadge />}
            {s.detail && s.index !== currentStep && (
              <span className="step-detail muted">
                <Md text={s.detail} />
              </span>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}
