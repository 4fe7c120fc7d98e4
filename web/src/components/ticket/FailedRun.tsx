import { useWorkflowStore } from '../../workflow/store';
import { ErrorBanner } from '../notices';

/** A failed run: its persisted error and a Retry that starts a new run. */
export function FailedRun({ aecId }: { aecId: string }) {
  const error = useWorkflowStore((s) => s.error);
  const starting = useWorkflowStore((s) => s.starting);
  const start = useWorkflowStore((s) => s.startGeneration);
  return (
    <>
      {error && <ErrorBanner error={error} />}
      <div className="buttons retry-row">
        <button
          type="button"
          className="primary"
          onClick={() => void start(aecId)}
          disabled={starting}
          data-testid="retry-button"
        >
          {starting ? 'Starting…' : 'Retry'}
        </button>
      </div>
    </>
  );
}
