/** The one Firebase app of the page, connected to the emulators when configured. */
import { initializeApp, type FirebaseApp } from 'firebase/app';
import { connectAuthEmulator, getAuth, type Auth } from 'firebase/auth';
import { connectFirestoreEmulator, getFirestore, type Firestore } from 'firebase/firestore';
import { getConfig } from './config';

export interface FirebaseHandles {
  app: FirebaseApp;
  auth: Auth;
  db: Firestore;
}

let handles: FirebaseHandles | null = null;

export function getFirebase(): FirebaseHandles {
  if (handles) return handles;
  const cfg = getConfig();
  const app = initializeApp(cfg.firebase);
  const auth = getAuth(app);
  const db = getFirestore(app);
  if (cfg.useEmulators) {
    if (cfg.authEmulatorUrl) {
      connectAuthEmulator(auth, cfg.authEmulatorUrl, { disableWarnings: true });
    }
    if (cfg.firestoreEmulator) {
      connectFirestoreEmulator(db, cfg.firestoreEmulator.host, cfg.firestoreEmulator.port);
    }
  }
  handles = { app, auth, db };
  return handles;
}

export function getDb(): Firestore {
  return getFirebase().db;
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
