/**
 * A person's decisions reach the workflow ONLY as action documents in
 * `aecs/{aecId}/actions`; the server answers on the same document with `result`.
 */
import {
  addDoc,
  collection,
  doc,
  onSnapshot,
  serverTimestamp,
  type Unsubscribe,
} from 'firebase/firestore';
import { currentUid, getDb } from './firebase';
import type { ActionResult, ActionType } from './types';

export interface ActionInput {
  type: ActionType;
  runId: string;
  /** The suspension token; "" for abort. */
  token: string;
  answers?: Record<string, string>;
}

/** Write one action document; resolves to its id. */
export async function writeAction(aecId: string, input: ActionInput): Promise<string> {
  const data: Record<string, unknown> = {
    type: input.type,
    runId: input.runId,
    token: input.type === 'abort' ? '' : input.token,
    uid: currentUid(),
    createdAt: serverTimestamp(),
  };
  if (input.answers !== undefined) data.answers = input.answers;
  const ref = await addDoc(collection(getDb(), 'aecs', aecId, 'actions'), data);
  return ref.id;
}

/**
 * Follow the server's verdict on an action. `onResult` gets the result once it is
 * written; `onGone` when the action document disappears (e.g. the ticket was deleted).
 */
export function watchActionResult(
  aecId: string,
  actionId: string,
  onResult: (result: ActionResult) => void,
  onGone?: () => void,
): Unsubscribe {
  const ref = doc(getDb(), 'aecs', aecId, 'actions', actionId);
  return onSnapshot(
    ref,
    (snap) => {
      if (!snap.exists()) {
        onGone?.();
        return;
      }
      const result = snap.get('result') as ActionResult | undefined;
      if (result && (result.status === 'accepted' || result.status === 'rejected')) {
        onResult(result);
      }
    },
    () => onGone?.(),
  );
}
