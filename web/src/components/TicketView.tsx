import { useEffect, useState, type FormEvent } from 'react';
import { navigate } from '../router';
import { subscribeTicket, updateTicket, type TicketInput } from '../tickets';
import { formatWhen } from '../time';
import type { AecDoc } from '../types';
import { useWorkflowStore } from '../workflow/store';
import { ProviderLabel, StatusBadge } from './badges';
import { FindingsReviewModal } from './FindingsReviewModal';
import { ApiErrorNotice, ErrorBanner, RejectionNotice } from './notices';
import { QuestionsWizard } from './QuestionsWizard';
import { TicketContent } from './TicketContent';
import { TicketForm } from './TicketForm';
import { TicketGenerationProgress } from './TicketGenerationProgress';

/** Title / description edits of a ticket that has a result (ready or failed). */
function RequestEditor({ aec, locked }: { aec: AecDoc; locked: boolean }) {
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
      await updateTicket(aec.id, { title, description, repo: aec.repo ?? '' });
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
      {aec.repo && (
        <p className="muted">
          Repository: <code>{aec.repo}</code>
        </p>
      )}
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

/** The request as it is while a run holds the lock: read only. */
function LockedRequest({ aec }: { aec: AecDoc }) {
  return (
    <section className="card request-locked" data-testid="request-locked">
      <p className="locked-note" data-testid="locked-note">
        Locked: this ticket is being generated and cannot be edited until the run ends.
      </p>
      <p className="request-description">{aec.description || <span className="muted">No description.</span>}</p>
      {aec.repo && (
        <p className="muted">
          Repository: <code>{aec.repo}</code>
        </p>
      )}
    </section>
  );
}

/** One ticket, live: the screen follows its status in Firestore. */
export function TicketView({ aecId }: { aecId: string }) {
  const open = useWorkflowStore((s) => s.open);
  const ingest = useWorkflowStore((s) => s.ingest);
  const aec = useWorkflowStore((s) => s.aec);
  const missing = useWorkflowStore((s) => s.missing);
  const status = useWorkflowStore((s) => s.status);
  const workflowState = useWorkflowStore((s) => s.workflowState);
  const error = useWorkflowStore((s) => s.error);
  const provider = useWorkflowStore((s) => s.provider);
  const offline = useWorkflowStore((s) => s.offline);
  const locked = useWorkflowStore((s) => s.locked);
  const runStatus = useWorkflowStore((s) => s.runStatus);
  const accepted = useWorkflowStore((s) => s.accepted);
  const pending = useWorkflowStore((s) => s.pending);
  const starting = useWorkflowStore((s) => s.starting);
  const apiError = useWorkflowStore((s) => s.apiError);
  const start = useWorkflowStore((s) => s.startGeneration);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);

  useEffect(() => {
    open(aecId);
    setLoadError(null);
    return subscribeTicket(
      aecId,
      (doc) => ingest(doc),
      (e) => setLoadError(e.message),
    );
  }, [aecId, open, ingest]);

  // After a cancel is accepted (the server deletes the ticket) go back to the list.
  const cancelling = pending?.type === 'cancel' || accepted?.type === 'cancel';
  useEffect(() => {
    if ((accepted?.type === 'cancel' || (missing && cancelling)) && aecId) {
      navigate({ name: 'list' });
    }
  }, [accepted, missing, cancelling, aecId]);

  async function saveAndStart(input: TicketInput) {
    setSaving(true);
    try {
      await updateTicket(aecId, input);
    } catch (e) {
      setSaving(false);
      useWorkflowStore.setState({ apiError: e instanceof Error ? e.message : String(e) });
      return;
    }
    setSaving(false);
    await start(aecId);
  }

  if (loadError) {
    return (
      <div className="banner banner-error" role="alert" data-testid="load-error">
        Could not load the ticket: {loadError} <a href="#/">Back to tickets</a>
      </div>
    );
  }
  if (missing) {
    return (
      <section className="card" data-testid="ticket-missing">
        <p>This ticket no longer exists.</p>
        <a href="#/" data-testid="back-to-list">
          Back to tickets
        </a>
      </section>
    );
  }
  if (!aec || !status) {
    return (
      <p className="muted" data-testid="ticket-loading">
        Loading…
      </p>
    );
  }

  const showProgress =
    aec.generationState != null &&
    (status === 'generating' ||
      status === 'awaiting_review' ||
      status === 'awaiting_answers' ||
      status === 'failed');

  return (
    <div
      className="ticket-view"
      data-testid="ticket-view"
      data-aec-id={aec.id}
      data-status={status}
      data-workflow-state={workflowState}
    >
      <header className="ticket-header">
        <a href="#/" className="link" data-testid="back-to-list">
          ← Tickets
        </a>
        <h1 data-testid="ticket-title">{aec.title}</h1>
        <div className="ticket-meta">
          <StatusBadge status={status} />
          <ProviderLabel provider={provider} offline={offline} />
          {aec.updatedAt != null && (
            <span className="muted">Updated {formatWhen(aec.updatedAt)}</span>
          )}
        </div>
      </header>

      {status !== 'awaiting_review' && <RejectionNotice />}
      <ApiErrorNotice />

      {status === 'draft' && (
        <>
          {runStatus === 'cancelled' && (
            <p className="banner banner-info" data-testid="run-cancelled-note">
              The last generation was stopped. Edit the request and generate again.
            </p>
          )}
          <TicketForm
            key={`${aec.id}:${aec.generationState?.runId ?? ''}`}
            mode="edit"
            initial={{ title: aec.title, description: aec.description ?? '', repo: aec.repo ?? '' }}
            busy={saving || starting}
            error={null}
            onSubmit={saveAndStart}
          />
        </>
      )}

      {(status === 'generating' || status === 'awaiting_review' || status === 'awaiting_answers') && (
        <LockedRequest aec={aec} />
      )}

      {status === 'failed' && error && <ErrorBanner error={error} />}
      {status === 'failed' && (
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
      )}

      {showProgress && <TicketGenerationProgress />}
      {status === 'awaiting_review' && <FindingsReviewModal />}
      {status === 'awaiting_answers' && <QuestionsWizard />}

      {(status === 'ready' || status === 'failed') && (
        <>
          <RequestEditor key={`${aec.id}:${aec.version ?? 0}`} aec={aec} locked={locked} />
          {status === 'ready' && (
            <section className="card ticket-ready" data-testid="ticket-ready">
              <h2>Ticket</h2>
              <TicketContent aec={aec} />
              <div className="buttons">
                <button
                  type="button"
                  onClick={() => void start(aecId)}
                  disabled={starting || locked}
                  data-testid="regenerate-button"
                >
                  Generate again
                </button>
              </div>
            </section>
          )}
        </>
      )}

      {status === 'cancelled' && (
        <section className="card" data-testid="ticket-cancelled">
          <p>This ticket was cancelled.</p>
        </section>
      )}
      {apiError === null && starting && (
        <p className="muted" aria-live="polite">
          Starting generation…
        </p>
      )}
    </div>
  );
}
