import type { RunError } from '../types';
import { useWorkflowStore } from '../workflow/store';

export function ErrorBanner({ error }: { error: RunError }) {
  return (
    <div className="banner banner-error" role="alert" data-testid="error-banner">
      <span>
        <strong>
          Generation failed{typeof error.step === 'number' ? ` at step ${error.step}` : ''}:
        </strong>{' '}
        <span data-testid="error-message">{error.message}</span>{' '}
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
