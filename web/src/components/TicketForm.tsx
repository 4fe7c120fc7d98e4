import { useState, type FormEvent } from 'react';
import type { TicketInput } from '../tickets';

export interface TicketFormProps {
  mode: 'new' | 'edit';
  initial?: Partial<TicketInput>;
  busy?: boolean;
  error?: string | null;
  disabled?: boolean;
  submitLabel?: string;
  onSubmit(input: TicketInput): void | Promise<void>;
  onCancel?(): void;
}

/** Title, description and optional repository (git URL and ref) of a ticket request. */
export function TicketForm({
  mode,
  initial,
  busy = false,
  error,
  disabled = false,
  submitLabel,
  onSubmit,
  onCancel,
}: TicketFormProps) {
  const [title, setTitle] = useState(initial?.title ?? '');
  const [description, setDescription] = useState(initial?.description ?? '');
  const [repo, setRepo] = useState(initial?.repo ?? '');
  const [repoRef, setRepoRef] = useState(initial?.repoRef ?? '');
  const [localError, setLocalError] = useState<string | null>(null);

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

  const shownError = localError ?? error;
  const off = busy || disabled;
  return (
    <form className="card ticket-form" onSubmit={submit} data-testid="ticket-form" data-mode={mode}>
      <h2>{mode === 'new' ? 'New ticket' : 'Edit request'}</h2>
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
      <div className="repo-form-fields">
        <label className="field repo-url">
          <span>
            Repository URL <span className="muted">(optional)</span>
          </span>
          <input
            type="text"
            value={repo}
            onChange={(e) => setRepo(e.target.value)}
            placeholder="https://github.com/acme/shop.git"
            disabled={off}
            data-testid="form-repo"
          />
        </label>
        <label className="field repo-ref">
          <span>
            Branch, tag or commit <span className="muted">(optional)</span>
          </span>
          <input
            type="text"
            value={repoRef}
            onChange={(e) => setRepoRef(e.target.value)}
            placeholder="default branch"
            disabled={off || !repo.trim()}
            data-testid="form-repo-ref"
          />
        </label>
      </div>
      {shownError && (
        <p className="form-error" role="alert" data-testid="form-error">
          {shownError}
        </p>
      )}
      <div className="buttons">
        <button type="submit" className="primary" disabled={off} data-testid="form-submit">
          {busy ? 'Working…' : (submitLabel ?? (mode === 'new' ? 'Create and generate' : 'Save and generate'))}
        </button>
        {onCancel && (
          <button type="button" onClick={onCancel} disabled={busy} data-testid="form-cancel">
            Back
          </button>
        )}
      </div>
    </form>
  );
}
