import { shortCommit } from '../repositories';
import type { IndexView, RepoContext, RepoState } from '../types';

const STATE_LABELS: Record<RepoState, string> = {
  none: 'Not indexed',
  queued: 'Queued',
  indexing: 'Indexing',
  ready: 'Indexed',
  failed: 'Index failed',
};

/** An index's state as a badge (queued, indexing, ready, failed). */
export function IndexBadge({ state }: { state: RepoState }) {
  return (
    <span className={`badge index-${state}`} data-testid="index-badge" data-state={state}>
      {STATE_LABELS[state]}
    </span>
  );
}

/** Files done out of the total while an index is built. */
export function IndexProgress({ done, total }: { done: number; total: number }) {
  const pct = total > 0 ? Math.min(100, Math.round((done / total) * 100)) : 0;
  return (
    <span className="index-progress" data-testid="index-progress" data-done={done} data-total={total}>
      <progress max={total || 1} value={total ? done : 0} aria-label="Indexing progress" />
      <span className="muted">
        {total ? `${done} / ${total} files (${pct}%)` : 'listing files…'}
      </span>
    </span>
  );
}

/** The latest index of a registration: state, progress, commit and any error. */
export function IndexSummary({ index }: { index: IndexView | null | undefined }) {
  if (!index) return <IndexBadge state="none" />;
  return (
    <span className="index-summary" data-testid="index-summary" data-index-id={index.indexId}>
      <IndexBadge state={index.state} />
      {index.commit && (
        <code className="commit" data-testid="index-commit" data-commit={index.commit}>
          {shortCommit(index.commit)}
        </code>
      )}
      {index.state === 'indexing' && (
        <IndexProgress done={index.filesDone ?? 0} total={index.filesTotal ?? 0} />
      )}
      {index.state === 'ready' && (
        <span className="muted" data-testid="index-files">
          {index.filesTotal ?? 0} files
          {index.stats && (index.stats.copied ?? 0) > 0 &&
            ` (${index.stats.extracted ?? 0} re-read, ${index.stats.copied} unchanged)`}
        </span>
      )}
      {index.state === 'failed' && index.error && (
        <span className="form-error" data-testid="index-error">
          {index.error}
        </span>
      )}
      {index.state !== 'failed' && index.state !== 'ready' && index.lastError && (
        <span className="muted" data-testid="index-retrying">
          retrying: {index.lastError}
        </span>
      )}
    </span>
  );
}

/**
 * Which repository and commit a ticket is (or was) checked against, and what the
 * index's state was when its run looked.
 */
export function TicketRepository({ repo, fallbackUrl }: {
  repo: RepoContext | null | undefined;
  fallbackUrl?: string | null;
}) {
  if (!repo) {
    return fallbackUrl ? (
      <p className="muted" data-testid="ticket-repository">
        Repository: <code>{fallbackUrl}</code>
      </p>
    ) : null;
  }
  const state = repo.status ?? 'none';
  return (
    <p
      className="ticket-repository"
      data-testid="ticket-repository"
      data-commit={repo.commit ?? ''}
      data-state={state}
    >
      <span className="label">Repository</span> <code>{repo.url}</code>
      {repo.ref && <span className="muted"> ({repo.ref})</span>}
      {repo.commit ? (
        <>
          {' '}
          at commit{' '}
          <code className="commit" title={repo.commit} data-testid="ticket-commit">
            {shortCommit(repo.commit)}
          </code>
        </>
      ) : null}{' '}
      <IndexBadge state={state} />
      {state === 'failed' && repo.error && (
        <span className="form-error" data-testid="ticket-repository-error">
          {' '}
          {repo.error}
        </span>
      )}
    </p>
  );
}
