/** Back to the list once a cancel is accepted (the server then deletes the ticket).
 * The store lets go of the ticket, so that opening it again shows it is gone instead
 * of leaving again. */
import { useEffect } from 'react';
import { navigate } from '../router';
import { useWorkflowStore } from '../workflow/store';

export function useLeaveAfterCancel(aecId: string): void {
  const accepted = useWorkflowStore((s) => s.accepted);
  const pending = useWorkflowStore((s) => s.pending);
  const missing = useWorkflowStore((s) => s.missing);
  const cancelling = pending?.type === 'cancel' || accepted?.type === 'cancel';

  useEffect(() => {
    if ((accepted?.type === 'cancel' || (missing && cancelling)) && aecId) {
      useWorkflowStore.getState().open(null);
      navigate({ name: 'list' });
    }
  }, [accepted, missing, cancelling, aecId]);
}
