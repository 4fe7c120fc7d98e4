import { useState, type FormEvent } from 'react';
import { updateTicket } from '../../tickets';
import type { AecDoc } from '../../types';
import { TicketRepository } from '../RepositoryStatus';

/** Title / description edits of a ticket that has a result (ready or failed). */
export function RequestEditor({ aec, locked }: { aec: AecDoc; locked: boolean }) {
  const [title, setTitle] = useState(aec.title ?? '');
  const [description, setDescription] = useState(aec.description ?? '');
  const [saving, setSaving] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const dirty = title !== (aec.title ?? '') || description !== (aec.description ?? '');

  async function save(e: FormEvent) {
    e.preventDefault();
    if (!title.trim()) {
      setMessage('A title is required.');
      return;
    }
    setSaving(true);
    setMessage(null);
    try {
      await updateTicket(aec.id, {
        title,
        description,
        repo: aec.repo ?? '',
        repoRef: aec.repoRef ?? '',
      });
      setMessage('Saved.');
    } catch (err) {
      setMessage(err instanceof Error ? err.message : String(err));
    } finally {
      setSaving(false);
    }
  }

  return (
    <form className="card request-editor" onSubmit={save} data-testid="request-editor">
      <h3>Request</h3>
      <label className="field">
        <span>Title</span>
        <input
          type="text"
          value={title}
          maxLength={200}
          onChange={(e) => setTitle(e.target.value)}
          disabled={locked || saving}
          data-testid="edit-title"
        />
      </label>
      <label className="field">
        <span>Description</span>
        <textarea
          value={description}
          rows={4}
          onChange={(e) => setDescription(e.target.value)}
          disabled={locked || saving}
          data-testid="edit-description"
        />
      </label>
      <TicketRepository repo={aec.repository} fallbackUrl={aec.repo} />
      <div className="buttons">
        <button type="submit" disabled={locked || saving || !dirty} data-testid="save-ticket">
          {saving ? 'Saving…' : 'Save'}
        </button>
        {message && (
          <span className="muted" role="status" data-testid="save-message">
            {message}
          </span>
        )}
      </div>
    </form>
  );
}
