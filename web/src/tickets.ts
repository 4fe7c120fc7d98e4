/** Reading and writing ticket (AEC) documents. */
import {
  collection,
  doc,
  onSnapshot,
  orderBy,
  query,
  serverTimestamp,
  setDoc,
  updateDoc,
  where,
  type Unsubscribe,
} from 'firebase/firestore';
import { aecConverter, deliver } from './converters';
import { getDb } from './firestore';
import type { AecDoc } from './types';

export interface TicketInput {
  title: string;
  description: string;
  /** A git URL (https://…); empty for none. */
  repo: string;
  /** Branch, tag or commit of `repo`; empty for its default branch. */
  repoRef?: string;
}

function tickets() {
  return collection(getDb(), 'aecs').withConverter(aecConverter);
}

function ticket(aecId: string) {
  return doc(getDb(), 'aecs', aecId).withConverter(aecConverter);
}

/** Live list of the user's tickets, newest change first. */
export function subscribeTickets(
  uid: string,
  onData: (tickets: AecDoc[]) => void,
  onError: (e: Error) => void,
): Unsubscribe {
  const q = query(tickets(), where('ownerId', '==', uid), orderBy('updatedAt', 'desc'));
  return onSnapshot(
    q,
    (snap) => deliver(() => snap.docs.map((d) => d.data()), onData, onError),
    onError,
  );
}

/** Live single ticket; `null` when it does not exist (e.g. deleted after cancel). */
export function subscribeTicket(
  aecId: string,
  onData: (aec: AecDoc | null) => void,
  onError: (e: Error) => void,
): Unsubscribe {
  return onSnapshot(
    ticket(aecId),
    (snap) => deliver(() => (snap.exists() ? snap.data() : null), onData, onError),
    onError,
  );
}

/** Create a draft ticket; resolves to its id. */
export async function createTicket(uid: string, input: TicketInput): Promise<string> {
  const ref = doc(tickets());
  await setDoc(ref, {
    id: ref.id,
    ownerId: uid,
    title: input.title.trim(),
    description: input.description.trim(),
    repo: input.repo.trim() || null,
    repoRef: (input.repo.trim() && input.repoRef?.trim()) || null,
    status: 'draft',
    locked: false,
    createdAt: serverTimestamp(),
    updatedAt: serverTimestamp(),
    version: 0,
  });
  return ref.id;
}

/** Edit a ticket's text (only allowed while it is not locked). */
export async function updateTicket(aecId: string, input: TicketInput): Promise<void> {
  await updateDoc(ticket(aecId), {
    title: input.title.trim(),
    description: input.description.trim(),
    repo: input.repo.trim() || null,
    repoRef: (input.repo.trim() && input.repoRef?.trim()) || null,
    updatedAt: serverTimestamp(),
  });
}
