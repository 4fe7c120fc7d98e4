import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { formatWhen } from '../time';
import { useWorkflowStore } from '../workflow/store';
import { FindingList } from './FindingList';
import { RejectionNotice } from './notices';

/** Keep Tab inside the dialog. */
function trapTab(e: KeyboardEvent<HTMLElement>) {
  if (e.key !== 'Tab') return;
  const nodes = Array.from(
    e.currentTarget.querySelectorAll<HTMLElement>('button:not([disabled]), [href], input, textarea'),
  );
  if (nodes.length === 0) return;
  const first = nodes[0];
  const last = nodes[nodes.length - 1];
  if (e.shiftKey && document.activeElement === first) {
    e.preventDefault();
    last.focus();
  } else if (!e.shiftKey && document.activeElement === last) {
    e.preventDefault();
    first.focus();
  }
}

/** Shown while the run waits at review: the findings and Proceed / Edit / Cancel. */
export function FindingsReviewModal() {
  const findings = useWorkflowStore((s) => s.findings);
  const suspension = useWorkflowStore((s) => s.suspension);
  const pending = useWorkflowStore((s) => s.pending);
  const resume = useWorkflowStore((s) => s.resumeWorkflow);
  const [confirming, setConfirming] = useState(false);
  const proceedRef = useRef<HTMLButtonElement>(null);
  const confirmRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (confirming) confirmRef.current?.focus();
    else proceedRef.current?.focus();
  }, [confirming]);

  const critical = findings.filter((f) => f.severity === 'critical').length;
  const busy = pending !== null;
  const expires = formatWhen(suspension?.expiresAt);

  return (
    <div className="modal-backdrop">
      <div
        className="modal"
        role="dialog"
        aria-modal="true"
        aria-labelledby="review-title"
        aria-describedby="review-summary"
        data-testid="findings-modal"
        onKeyDown={trapTab}
      >
        <h2 id="review-title">Review the findings</h2>
        <p id="review-summary">
          Comparing the request with the repository found {findings.length}{' '}
          {findings.length === 1 ? 'issue' : 'issues'}
          {critical > 0 ? ` (${critical} critical)` : ''}. Proceed anyway, edit the request, or
          cancel the ticket.
          {expires && <span className="muted"> Waiting until {expires}.</span>}
        </p>
        <RejectionNotice />
        <FindingList findings={findings} testId="modal-findings" />

        {confirming ? (
          <div className="confirm" data-testid="confirm-cancel" role="group" aria-label="Confirm">
            <p>
              <strong>Cancel this ticket?</strong> It will be deleted.
            </p>
            <div className="buttons">
              <button
                ref={confirmRef}
                type="button"
                className="danger"
                data-testid="confirm-cancel-yes"
                disabled={busy}
                onClick={() => void resume('cancel')}
              >
                Yes, cancel ticket
              </button>
              <button
                type="button"
                data-testid="confirm-cancel-no"
                disabled={busy}
                onClick={() => setConfirming(false)}
              >
                Keep it
              </button>
            </div>
          </div>
        ) : (
          <div className="buttons">
            <button
              ref={proceedRef}
              type="button"
              className="primary"
              data-testid="modal-proceed"
              disabled={busy}
              onClick={() => void resume('proceed')}
            >
              Proceed anyway
            </button>
            <button
              type="button"
              data-testid="modal-edit"
              disabled={busy}
              onClick={() => void resume('edit')}
            >
              Edit request
            </button>
            <button
              type="button"
              className="danger"
              data-testid="modal-cancel"
              disabled={busy}
              onClick={() => setConfirming(true)}
            >
              Cancel ticket
            </button>
          </div>
        )}
        {busy && (
          <p className="muted" data-testid="action-pending" aria-live="polite">
            Sending your decision…
          </p>
        )}
      </div>
    </div>
  );
}
