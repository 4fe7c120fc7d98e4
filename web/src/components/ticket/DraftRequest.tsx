import { useState } from 'react';
import { repositoryRefusal } from '../../api';
import { describeError } from '../../errors';
import { repositoryChanged } from '../../lib/request';
import { updateTicket, type TicketInput } from '../../tickets';
import type { AecDoc } from '../../types';
import { useWorkflowStore } from '../../workflow/store';
import { useUnsavedStore } from '../../workflow/unsaved';
import { TicketForm } from '../TicketForm';

/** A draft: the request form, prefilled; saving it starts a generation. After "Edit
 * request" at the review, what the review found stays beside the form. */
export function DraftRequest({ aecId, aec }: { aecId: string; aec: AecDoc }) {
  const runStatus = useWorkflowStore((s) => s.runStatus);
  const starting = useWorkflowStore((s) => s.starting);
  const start = useWorkflowStore((s) => s.startGeneration);
  const clearUnsaved = useUnsavedStore((s) => s.clear);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const findings = runStatus === 'cancelled' ? (aec.generationState?.findings ?? []) : [];

  async function saveAndStart(input: TicketInput) {
    setSaving(true);
    setError(null);
    if (repositoryChanged(aec, input)) {
      const refused = await repositoryRefusal(input.repo, input.repoRef);
      if (refused) {
        setSaving(false);
        setError(refused);
        return;
      }
    }
    try {
      await updateTicket(aecId, input);
    } catch (e) {
      setSaving(false);
      useWorkflowStore.setState({ apiError: describeError(e, 'save') });
      return;
    }
    clearUnsaved(aecId);
    setSaving(false);
    await start(aecId);
  }

  return (
    <>
      {runStatus === 'cancelled' && (
        <p className="banner banner-info" data-testid="run-cancelled-note">
          {findings.length > 0
            ? 'The generation stopped so that you can fix the request: the findings are beside it.'
            : 'The last generation was stopped. Edit the request and generate again.'}
        </p>
      )}
      <TicketForm
        key={`${aec.id}:${aec.generationState?.runId ?? ''}`}
        mode="edit"
        aecId={aecId}
        findings={findings}
        initial={{
          title: aec.title,
          description: aec.description ?? '',
          repo: aec.repo ?? '',
          repoRef: aec.repoRef ?? '',
        }}
        busy={saving || starting}
        error={error}
        onSubmit={saveAndStart}
      />
    </>
  );
}
