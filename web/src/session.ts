/**
 * Who is signed in, told to whoever holds per-user data. The auth listener in
 * `App.tsx` calls `userChanged` BEFORE it re-renders, so every store of the previous
 * user (the open ticket, unsaved edits) is cleared before anything of the next user
 * (or the sign-in screen) renders. No Firebase here: the first screen loads without
 * Firestore.
 */

type Listener = (uid: string | null) => void;

const listeners = new Set<Listener>();
let current: string | null | undefined;

/** Run `fn` with the new uid whenever the signed-in user changes; returns an unsubscribe. */
export function onUserChange(fn: Listener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Called by the auth listener with the signed-in uid (null: signed out). */
export function userChanged(uid: string | null): void {
  if (uid === current) return;
  const hadUser = current !== undefined;
  current = uid;
  if (!hadUser && uid !== null) return; // the first user of this page load: nothing to clear
  for (const fn of listeners) fn(uid);
}
