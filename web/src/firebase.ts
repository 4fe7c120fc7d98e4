/**
 * The one Firebase app of the page and its Auth, connected to the emulator when
 * configured. Firestore is in `firestore.ts`, loaded with the signed-in screens, so
 * that the sign-in screen does not wait for it.
 */
import { initializeApp, type FirebaseApp } from 'firebase/app';
import {
  browserLocalPersistence,
  connectAuthEmulator,
  indexedDBLocalPersistence,
  initializeAuth,
  type Auth,
} from 'firebase/auth';
import { getConfig } from './config';

export interface FirebaseHandles {
  app: FirebaseApp;
  auth: Auth;
}

let handles: FirebaseHandles | null = null;

export function getFirebase(): FirebaseHandles {
  if (handles) return handles;
  const cfg = getConfig();
  const app = initializeApp(cfg.firebase);
  // initializeAuth with the persistences the page uses, not getAuth: getAuth also
  // bundles the popup and redirect sign-in machinery, which the page never uses.
  const auth = initializeAuth(app, {
    persistence: [indexedDBLocalPersistence, browserLocalPersistence],
  });
  if (cfg.useEmulators && cfg.authEmulatorUrl) {
    connectAuthEmulator(auth, cfg.authEmulatorUrl, { disableWarnings: true });
  }
  handles = { app, auth };
  return handles;
}

export function getAuthInstance(): Auth {
  return getFirebase().auth;
}

/** The signed-in user's id, or throws when nobody is signed in. */
export function currentUid(): string {
  const user = getAuthInstance().currentUser;
  if (!user) throw new Error('not signed in');
  return user.uid;
}

/** A fresh ID token of the signed-in user. */
export async function currentIdToken(): Promise<string> {
  const user = getAuthInstance().currentUser;
  if (!user) throw new Error('not signed in');
  return user.getIdToken();
}
