import { useState } from 'react';
import { updateTicket, type TicketInput } from '../../tickets';
import type { AecDoc } from '../../types';
import { useWorkflowStore } from '../../workflow/store';
import { TicketForm } from '../TicketForm';

/** A draft: the request form, prefilled; saving it starts a generation. */
export function DraftRequest({ aecId, aec }: { aecId: string; aec: AecDoc }) {
  const runStatus = useWorkflowStore((s) => s.runStatus);
  const starting = useWorkflowStore((s) => s.starting);
  const start = useWorkflowStore((s) => s.startGeneration);
  const [saving, setSaving] = useState(false);

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

  return (
    <>
      {runStatus === 'cancelled' && (
        <p className="banner banner-info" data-testid="run-cancelled-note">
          The last generation was stopped. Edit the request and generate again.
        </p>
      )}
      <TicketForm
        key={`${aec.id}:${aec.generationState?.runId ?? ''}`}
        mode="edit"
        initial={{
          title: aec.title,
          description: aec.description ?? '',
          repo: aec.repo ?? '',
          repoRef: aec.repoRef ?? '',
        }}
        busy={saving || starting}
        error={null}
        onSubmit={saveAndStart}
      />
    </>
  );
}
