import { useState } from 'react';
import { Md } from '../lib/markdown';
import type { RunError } from '../types';
import { useWorkflowStore } from '../workflow/store';
import { useUnsavedStore } from '../workflow/unsaved';

export function ErrorBanner({ error }: { error: RunError }) {
  return (
    <div className="banner banner-error" role="alert" data-testid="error-banner">
      <span>
        <strong>
          Generation failed{typeof error.step === 'number' ? ` at step ${error.step}` : ''}:
        </strong>{' '}
        <span data-testid="error-message">
          <Md text={error.message} />
        </span>{' '}
        <span className="muted" data-testid="error-code">
          ({error.code}
          {error.retryable ? ', retryable' : ''})
        </span>
      </span>
    </div>
  );
}

/** The server's reason for refusing the last action, if it did. */
export function RejectionNotice() {
  const rejection = useWorkflowStore((s) => s.rejection);
  const clear = useWorkflowStore((s) => s.clearRejection);
  if (!rejection) return null;
  return (
    <div className="banner banner-warning" role="alert" data-testid="action-rejection">
      <span>
        Your “{rejection.type}” was not applied:{' '}
        <span data-testid="rejection-reason">{rejection.reason}</span>
      </span>
      <button type="button" className="link" onClick={clear}>
        Dismiss
      </button>
    </div>
  );
}

export function ApiErrorNotice() {
  const apiError = useWorkflowStore((s) => s.apiError);
  const clear = useWorkflowStore((s) => s.clearApiError);
  if (!apiError) return null;
  return (
    <div className="banner banner-error" role="alert" data-testid="api-error">
      <span>{apiError}</span>
      <button type="button" className="link" onClick={clear}>
        Dismiss
      </button>
    </div>
  );
}

/**
 * Text typed into this ticket's request that was never saved, while no form can show
 * it (another tab started a generation): kept here to copy, and back in the form
 * when the ticket can be edited again.
 */
export function UnsavedEditsNotice({ aecId }: { aecId: string }) {
  const edit = useUnsavedStore((s) => s.edits[aecId]);
  const clear = useUnsavedStore((s) => s.clear);
  const [copied, setCopied] = useState(false);
  if (!edit) return null;
  const text = `${edit.title}\n\n${edit.description}`.trim();
  return (
    <div className="banner banner-warning" role="alert" data-testid="unsaved-edits">
      <div>
        <strong>Your edits were not saved</strong>: this ticket started generating (in another
        tab?) while you were typing. They are kept here and come back in the form when the
        ticket can be edited again.
        <blockquote className="unsaved-text" data-testid="unsaved-text">
          {text}
        </blockquote>
      </div>
      <span className="buttons">
        <button
          type="button"
          onClick={() => void navigator.clipboard.writeText(text).then(() => setCopied(true))}
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
        <button type="button" className="link" onClick={() => clear(aecId)} data-testid="unsaved-discard">
          Discard
        </button>
      </span>
    </div>
  );
}
