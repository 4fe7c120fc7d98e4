import { useState, type FormEvent } from 'react';
import { repositoryRefusal } from '../../api';
import { describeError } from '../../errors';
import { useUnsavedGuard } from '../../hooks/useUnsavedGuard';
import { repositoryChanged } from '../../lib/request';
import { updateTicket } from '../../tickets';
import type { AecDoc } from '../../types';
import { TicketRepository } from '../RepositoryStatus';
import { useWorkflowStore } from '../../workflow/store';
import { useUnsavedStore } from '../../workflow/unsaved';
import { RepoFields } from '../RepoFields';

/**
 * The request behind a ticket that has a result (ready or failed), folded away under
 * the ticket. "Save" keeps the edit without touching the generated ticket; "Save and
 * generate again" saves it and starts a new run from it. The repository can be changed
 * too (checked before anything is saved: a URL that names no usable git repository is
 * refused here, with the reason). Unsaved text is kept (see
 * `hooks/useUnsavedGuard.ts`) and comes back if the editor is shown again.
 */
export function RequestEditor({ aec, locked }: { aec: AecDoc; locked: boolean }) {
  const saved = {
    title: aec.title ?? '',
    description: aec.description ?? '',
    repo: aec.repo ?? '',
    repoRef: aec.repoRef ?? '',
  };
  const [restored] = useState(() => {
    const kept = useUnsavedStore.getState().edits[aec.id];
    return kept && JSON.stringify(kept) !== JSON.stringify(saved) ? kept : null;
  });
  // the editor is rebuilt for each version of the ticket: unfolded, it stays so
  const unfold = useUnsavedStore((s) => s.unfold);
  const [open, setOpen] = useState(
    () => restored !== null || aec.id in useUnsavedStore.getState().unfolded,
  );
  const [title, setTitle] = useState(restored?.title ?? saved.title);
  const [description, setDescription] = useState(restored?.description ?? saved.description);
  const [repo, setRepo] = useState(restored?.repo ?? saved.repo);
  const [repoRef, setRepoRef] = useState(restored?.repoRef ?? saved.repoRef);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [message, setMessage] = useState<string | null>(
    restored ? 'Your unsaved edits from before are back.' : null,
  );
  const starting = useWorkflowStore((s) => s.starting);
  const start = useWorkflowStore((s) => s.startGeneration);
  const clearUnsaved = useUnsavedStore((s) => s.clear);
  const input = { title, description, repo, repoRef };
  const dirty =
    title !== saved.title || description !== saved.description || repositoryChanged(aec, input);
  useUnsavedGuard(aec.id, dirty ? input : null);

  async function save(generate: boolean) {
    if (!title.trim()) {
      setMessage('A title is required.');
      return;
    }
    setSaving(true);
    setMessage(null);
    setError(null);
    if (repositoryChanged(aec, input)) {
      const refused = await repositoryRefusal(repo, repoRef);
      if (refused) {
        setSaving(false);
        setError(refused);
        return;
      }
    }
    try {
      if (dirty) await updateTicket(aec.id, input);
      clearUnsaved(aec.id);
      setMessage(generate ? null : 'Saved. The ticket above still shows the last generation.');
    } catch (err) {
      setMessage(describeError(err, 'save'));
      setSaving(false);
      return;
    }
    setSaving(false);
    if (generate) await start(aec.id);
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    void save(false);
  }

  const off = locked || saving || starting;
  // the commit the ticket was validated against stays in view; the request folds away
  return (
    <>
      <TicketRepository repo={aec.repository} fallbackUrl={aec.repo} />
      <details
        className="card request-editor"
        open={open}
        onToggle={(e) => {
          const unfolded = (e.currentTarget as HTMLDetailsElement).open;
          setOpen(unfolded);
          unfold(aec.id, unfolded);
        }}
        data-testid="request-editor"
      >
        <summary data-testid="request-editor-toggle">
          Request{dirty ? ' (unsaved edits)' : ''}
        </summary>
        <form onSubmit={submit}>
          <label className="field">
            <span>Title</span>
            <input
              type="text"
              value={title}
              maxLength={200}
              onChange={(e) => setTitle(e.target.value)}
              disabled={off}
              data-testid="edit-title"
            />
          </label>
          <label className="field">
            <span>Description</span>
            <textarea
              value={description}
              rows={4}
              onChange={(e) => setDescription(e.target.value)}
              disabled={off}
              data-testid="edit-description"
            />
          </label>
          <RepoFields
            url={repo}
            repoRef={repoRef}
            onUrl={setRepo}
            onRef={setRepoRef}
            disabled={off}
            testIds={['edit-repo', 'edit-repo-ref']}
          />
          {error && (
            <p className="form-error" role="alert" data-testid="edit-error">
              {error}
            </p>
          )}
          <div className="buttons">
            <button type="submit" disabled={off || !dirty} data-testid="save-ticket">
              {saving ? 'Saving…' : 'Save'}
            </button>
            <button
              type="button"
              className="primary"
              disabled={off}
              onClick={() => void save(true)}
              data-testid="regenerate-button"
            >
              {dirty ? 'Save and generate again' : 'Generate again'}
            </button>
            {message && (
              <span className="muted" role="status" data-testid="save-message">
                {message}
              </span>
            )}
          </div>
        </form>
      </details>
    </>
  );
}
