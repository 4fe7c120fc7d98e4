/**
 * The live ticket of the ticket page: one Firestore listener per (ticket, user).
 *
 * The listener starts when the component mounts, is replaced when the ticket or the
 * signed-in user changes (the new one runs with the new user's credentials, and the
 * store drops what was loaded for the previous one), and stops on unmount. Its
 * snapshots go to the workflow store (`ingest`), which never moves back to an older
 * one; callbacks of a listener that was already stopped are ignored. A listener
 * error is returned as `loadError` in words ("You don't have access to this
 * ticket"), a document of the wrong shape with what is wrong with it.
 */
import { useEffect, useState } from 'react';
import { describeError } from '../errors';
import { subscribeTicket } from '../tickets';
import { useWorkflowStore } from '../workflow/store';

export interface TicketListener {
  /** Why the ticket cannot be shown, or null. */
  loadError: string | null;
}

export function useTicket(aecId: string, uid: string): TicketListener {
  const open = useWorkflowStore((s) => s.open);
  const ingest = useWorkflowStore((s) => s.ingest);
  const key = `${uid}/${aecId}`;
  // The error belongs to the listener it came from, so a new ticket or user never
  // shows the previous one's error, not even for the render before the effect runs.
  const [failure, setFailure] = useState<{ key: string; message: string } | null>(null);

  useEffect(() => {
    let live = true;
    open(aecId, uid);
    const unsubscribe = subscribeTicket(
      aecId,
      (aec) => {
        if (live) ingest(aec);
      },
      (e) => {
        if (live) setFailure({ key, message: describeError(e, 'ticket') });
      },
    );
    return () => {
      live = false;
      unsubscribe();
    };
  }, [aecId, uid, key, open, ingest]);

  return { loadError: failure !== null && failure.key === key ? failure.message : null };
}
