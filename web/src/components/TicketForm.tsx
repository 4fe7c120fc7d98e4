import { useState, type FormEvent, type ReactNode } from 'react';
import { useUnsavedGuard } from '../hooks/useUnsavedGuard';
import type { TicketInput } from '../tickets';
import type { Finding } from '../types';
import { useUnsavedStore } from '../workflow/unsaved';
import { FindingList } from './FindingList';
import { RepoFields } from './RepoFields';

export interface TicketFormProps {
  mode: 'new' | 'edit';
  initial?: Partial<TicketInput>;
  busy?: boolean;
  error?: string | null;
  disabled?: boolean;
  submitLabel?: string;
  /** The ticket being edited: its unsaved text is kept (and restored) under this id. */
  aecId?: string;
  /** What the review found, shown beside the form while the request is edited. */
  findings?: Finding[];
  /** Shown under the repository fields; `use(url)` fills the repository field
   * (the new-ticket form offers the sample repository there). */
  repoHelp?(use: (url: string) => void): ReactNode;
  onSubmit(input: TicketInput): void | Promise<void>;
  onCancel?(): void;
}

function replaceAll(text: string, from: string, to: string): string {
  return text.split(from).join(to);
}

/** Title, description and optional repository (git URL and ref) of a ticket request;
 * when it edits
 * a ticket, the review's findings beside it ("Use `x`" applies a suggestion) and its
 * unsaved text kept until saved (see `hooks/useUnsavedGuard.ts`). */
export function TicketForm({
  mode,
  initial,
  busy = false,
  error,
  disabled = false,
  submitLabel,
  aecId,
  findings,
  repoHelp,
  onSubmit,
  onCancel,
}: TicketFormProps) {
  const saved: TicketInput = {
    title: initial?.title ?? '',
    description: initial?.description ?? '',
    repo: initial?.repo ?? '',
    repoRef: initial?.repoRef ?? '',
  };
  // Text typed earlier and never saved (another tab took the ticket meanwhile).
  const [restored] = useState(() => {
    const kept = aecId ? useUnsavedStore.getState().edits[aecId] : undefined;
    return kept && JSON.stringify(kept) !== JSON.stringify(saved) ? kept : null;
  });
  const start = restored ?? saved;
  const [title, setTitle] = useState(start.title);
  const [description, setDescription] = useState(start.description);
  const [repo, setRepo] = useState(start.repo);
  const [repoRef, setRepoRef] = useState(start.repoRef ?? '');
  const [localError, setLocalError] = useState<string | null>(null);
  const [showRestored, setShowRestored] = useState(restored !== null);

  const dirty =
    title !== saved.title ||
    description !== saved.description ||
    repo !== saved.repo ||
    repoRef !== saved.repoRef;
  useUnsavedGuard(aecId, dirty ? { title, description, repo, repoRef } : null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!title.trim()) {
      setLocalError('A title is required.');
      return;
    }
    if (title.trim().length > 200) {
      setLocalError('The title must be at most 200 characters.');
      return;
    }
    setLocalError(null);
    await onSubmit({ title, description, repo, repoRef });
  }

  function discardRestored() {
    setTitle(saved.title);
    setDescription(saved.description);
    setRepo(saved.repo);
    setRepoRef(saved.repoRef ?? '');
    setShowRestored(false);
  }

  function apply(from: string, to: string) {
    setTitle((t) => replaceAll(t, from, to));
    setDescription((d) => replaceAll(d, from, to));
  }

  const shownError = localError ?? error;
  const off = busy || disabled;
  const form = (
    <form className="card ticket-form" onSubmit={submit} data-testid="ticket-form" data-mode={mode}>
      <h2>{mode === 'new' ? 'New ticket' : 'Edit request'}</h2>
      {showRestored && (
        <p className="banner banner-info" data-testid="restored-edits">
          <span>Your unsaved edits from before are back in the form.</span>
          <button type="button" className="link" onClick={discardRestored}>
            Discard them
          </button>
        </p>
      )}
      <label className="field">
        <span>Title</span>
        <input
          type="text"
          value={title}
          onChange={(e) => setTitle(e.target.value)}
          required
          maxLength={200}
          disabled={off}
          data-testid="form-title"
        />
      </label>
      <label className="field">
        <span>Description</span>
        <textarea
          value={description}
          onChange={(e) => setDescription(e.target.value)}
          rows={6}
          disabled={off}
          data-testid="form-description"
        />
      </label>
      <RepoFields
        url={repo}
        repoRef={repoRef}
        onUrl={setRepo}
        onRef={setRepoRef}
        disabled={off}
        testIds={['form-repo', 'form-repo-ref']}
      />
      {repoHelp?.((url) => {
        setRepo(url);
        setRepoRef('');
      })}
      {shownError && (
        <p className="form-error" role="alert" data-testid="form-error">
          {shownError}
        </p>
      )}
      <div className="buttons">
        <button type="submit" className="primary" disabled={off} data-testid="form-submit">
          {busy
            ? 'Working…'
            : (submitLabel ?? (mode === 'new' ? 'Create and generate' : 'Save and generate'))}
        </button>
        {onCancel && (
          <button type="button" onClick={onCancel} disabled={busy} data-testid="form-cancel">
            Back
          </button>
        )}
      </div>
    </form>
  );
  if (!findings || findings.length === 0) return form;
  return (
    <div className="form-with-findings">
      {form}
      <aside className="card form-findings" data-testid="form-findings" aria-label="Findings">
        <h3>What the review found</h3>
        <p className="muted">Fix the request where it names something that does not exist.</p>
        <FindingList
          findings={findings}
          testId="form-findings-list"
          onApply={apply}
          canApply={(from) => title.includes(from) || description.includes(from)}
        />
      </aside>
    </div>
  );
}
