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
import { actionConverter, deliver } from './converters';
import { currentUid } from './firebase';
import { getDb } from './firestore';
import type { ActionResult, ActionType } from './types';

export interface ActionInput {
  type: ActionType;
  runId: string;
  /** The suspension token; "" for abort. */
  token: string;
  answers?: Record<string, string>;
}

function actions(aecId: string) {
  return collection(getDb(), 'aecs', aecId, 'actions').withConverter(actionConverter);
}

/** Write one action document; resolves to its id. */
export async function writeAction(aecId: string, input: ActionInput): Promise<string> {
  const ref = await addDoc(actions(aecId), {
    type: input.type,
    runId: input.runId,
    token: input.type === 'abort' ? '' : input.token,
    uid: currentUid(),
    createdAt: serverTimestamp(),
    ...(input.answers !== undefined ? { answers: input.answers } : {}),
  });
  return ref.id;
}

/**
 * Follow the server's verdict on an action. `onResult` gets the result once it is
 * written; `onGone` when the action document disappears (e.g. the ticket was deleted)
 * or cannot be read.
 */
export function watchActionResult(
  aecId: string,
  actionId: string,
  onResult: (result: ActionResult) => void,
  onGone?: () => void,
): Unsubscribe {
  const ref = doc(actions(aecId), actionId);
  const gone = () => onGone?.();
  return onSnapshot(
    ref,
    (snap) => {
      if (!snap.exists()) {
        gone();
        return;
      }
      deliver(
        () => snap.data(),
        (action) => {
          if (action.result) onResult(action.result);
        },
        gone,
      );
    },
    gone,
  );
}
