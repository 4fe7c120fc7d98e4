import { useState } from 'react';
import { repositoryRefusal } from '../api';
import { describeError } from '../errors';
import { navigate } from '../router';
import { createTicket, type TicketInput } from '../tickets';
import { useWorkflowStore } from '../workflow/store';
import { SampleOffer } from './SampleOffer';
import { TicketForm } from './TicketForm';

/** Create a draft ticket, open it, and start its generation (optionally prefilled with
 * a repository, e.g. from the repositories page). */
export function NewTicket({ uid, repo, repoRef }: { uid: string; repo?: string; repoRef?: string }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function create(input: TicketInput) {
    setBusy(true);
    setError(null);
    // A repository that cannot be used is refused here, before any ticket exists.
    const refused = await repositoryRefusal(input.repo, input.repoRef);
    if (refused) {
      setBusy(false);
      setError(refused);
      return;
    }
    let id: string;
    try {
      id = await createTicket(uid, input);
    } catch (e) {
      setBusy(false);
      setError(describeError(e, 'create'));
      return;
    }
    const store = useWorkflowStore.getState();
    store.open(id, uid);
    navigate({ name: 'ticket', aecId: id });
    // Errors of start_generation are shown on the ticket's page (api-error).
    await store.startGeneration(id);
  }

  return (
    <TicketForm
      mode="new"
      initial={{ repo: repo ?? '', repoRef: repoRef ?? '' }}
      busy={busy}
      error={error}
      repoHelp={(use) => <SampleOffer uid={uid} onUse={use} />}
      onSubmit={create}
      onCancel={() => navigate({ name: 'list' })}
    />
  );
}
