/** The page's Firestore (the emulator when configured), on the app of `firebase.ts`. */
import { connectFirestoreEmulator, getFirestore, type Firestore } from 'firebase/firestore';
import { getConfig } from './config';
import { getFirebase } from './firebase';

let db: Firestore | null = null;

export function getDb(): Firestore {
  if (db) return db;
  const cfg = getConfig();
  db = getFirestore(getFirebase().app);
  if (cfg.useEmulators && cfg.firestoreEmulator) {
    connectFirestoreEmulator(db, cfg.firestoreEmulator.host, cfg.firestoreEmulator.port);
  }
  return db;
}
