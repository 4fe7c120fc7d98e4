import { useState, type FormEvent } from 'react';
import { ApiError, registerRepository } from '../api';
import { useRepositories } from '../hooks/useRepositories';
import type { RepositoryDoc } from '../types';
import { IndexSummary } from './RepositoryStatus';
import { SampleOffer } from './SampleOffer';
import { RepoFields } from './RepoFields';

function message(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  return e instanceof Error ? e.message : String(e);
}

/** Register a git URL (and ref) for indexing. */
function RegisterForm({ onRegistered }: { onRegistered(repo: RepositoryDoc): void }) {
  const [url, setUrl] = useState('');
  const [ref, setRef] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!url.trim()) {
      setError('A repository URL is required.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onRegistered(await registerRepository({ url, ref }));
      setUrl('');
      setRef('');
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="card repo-form" onSubmit={submit} data-testid="repo-form">
      <h2>Add a repository</h2>
      <RepoFields
        url={url}
        repoRef={ref}
        onUrl={setUrl}
        onRef={setRef}
        disabled={busy}
        testIds={['repo-url', 'repo-ref']}
        urlLabel="Git URL"
        refNeedsUrl={false}
      />
      {error && (
        <p className="form-error" role="alert" data-testid="repo-form-error">
          {error}
        </p>
      )}
      <div className="buttons">
        <button type="submit" className="primary" disabled={busy} data-testid="repo-register">
          {busy ? 'Registering…' : 'Register and index'}
        </button>
      </div>
    </form>
  );
}

function RepositoryRow({ repo }: { repo: RepositoryDoc }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const state = repo.index?.state ?? 'none';
  const building = state === 'queued' || state === 'indexing';

  async function reindex() {
    setBusy(true);
    setError(null);
    try {
      await registerRepository({ repoId: repo.repoId });
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  }

  const newTicket = `#/new?repo=${encodeURIComponent(repo.url)}${
    repo.ref ? `&ref=${encodeURIComponent(repo.ref)}` : ''
  }`;
  return (
    <li className="repo-row" data-testid="repo-row" data-repo-id={repo.repoId} data-state={state}>
      <div className="repo-row-head">
        <code className="repo-row-url" data-testid="repo-row-url">
          {repo.url}
        </code>
        <span className="muted">{repo.ref ?? 'default branch'}</span>
      </div>
      <IndexSummary index={repo.index} />
      {error && (
        <p className="form-error" role="alert" data-testid="repo-row-error">
          {error}
        </p>
      )}
      <div className="buttons">
        <button
          type="button"
          onClick={() => void reindex()}
          disabled={busy || building}
          data-testid="repo-reindex"
        >
          {busy ? 'Asking…' : 'Re-index'}
        </button>
        <a href={newTicket} data-testid="repo-new-ticket">
          New ticket on this repository
        </a>
      </div>
    </li>
  );
}

/**
 * The user's repositories, live: each registration with its latest index's state
 * and progress, a "Re-index" (a new commit on its branch, or a failed index again),
 * and a form to register another git URL.
 */
export function Repositories({ uid }: { uid: string }) {
  const { repos, error } = useRepositories(uid);
  const [notice, setNotice] = useState<string | null>(null);
  return (
    <div className="repositories" data-testid="repositories">
      <div className="page-header">
        <h1>Repositories</h1>
        <a href="#/">Tickets</a>
      </div>
      <SampleOffer uid={uid} />
      <RegisterForm onRegistered={(r) => setNotice(`Registered ${r.url}; indexing it now.`)} />
      {notice && (
        <p className="banner banner-info" data-testid="repo-notice">
          {notice}
        </p>
      )}
      {error && (
        <p className="banner banner-error" role="alert" data-testid="repos-error">
          {error}
        </p>
      )}
      {repos === null ? (
        <p className="muted" data-testid="repos-loading">
          Loading…
        </p>
      ) : repos.length === 0 ? (
        <p className="muted" data-testid="repos-empty">
          No repositories yet. Register a git URL to check tickets against its code.
        </p>
      ) : (
        <ul className="repo-list" data-testid="repo-list">
          {repos.map((r) => (
            <RepositoryRow key={r.repoId} repo={r} />
          ))}
        </ul>
      )}
    </div>
  );
}
