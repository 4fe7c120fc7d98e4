/**
 * The user's repository registrations, `repositories/{repoId}`: written by the
 * server only (`register_repository`, and the index task as it runs), read live by
 * their owner (the rules refuse everyone else). Registering and re-indexing go
 * through the function (`api.ts`), never a direct write.
 */
import {
  collection,
  onSnapshot,
  query,
  where,
  type FirestoreDataConverter,
  type SnapshotOptions,
  type Unsubscribe,
} from 'firebase/firestore';
import { DocumentShapeError, deliver, toJsonValue, type SnapshotLike } from './converters';
import { getDb } from './firestore';
import type { RepoState, RepositoryDoc } from './types';

const STATES: Record<RepoState, true> = {
  none: true,
  queued: true,
  indexing: true,
  ready: true,
  failed: true,
};

function repositoryProblem(d: Record<string, unknown>): string | null {
  if (typeof d.repoId !== 'string') return 'repoId is missing';
  if (typeof d.ownerId !== 'string') return 'ownerId is missing';
  if (typeof d.url !== 'string') return 'url is missing';
  const index = d.index as Record<string, unknown> | null | undefined;
  if (index !== null && index !== undefined) {
    if (typeof index.indexId !== 'string') return 'index.indexId is missing';
    if (typeof index.state !== 'string' || !Object.hasOwn(STATES, index.state)) {
      return `index.state ${JSON.stringify(index.state)} is not an index state`;
    }
  }
  return null;
}

/** A registration from its snapshot (timestamps as ISO strings, shape checked). */
export function repositoryFromSnapshot(
  snapshot: SnapshotLike,
  options?: SnapshotOptions,
): RepositoryDoc {
  const data = toJsonValue(snapshot.data({ serverTimestamps: 'estimate', ...options }));
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new DocumentShapeError(snapshot.ref.path, 'it is not a map');
  }
  const fields = data as Record<string, unknown>;
  const problem = repositoryProblem(fields);
  if (problem) throw new DocumentShapeError(snapshot.ref.path, problem);
  return fields as unknown as RepositoryDoc;
}

export const repositoryConverter: FirestoreDataConverter<RepositoryDoc> = {
  toFirestore: () => {
    throw new Error('repositories are written by the server only');
  },
  fromFirestore: repositoryFromSnapshot,
};

/** Newest registration first. */
export function byNewest(a: RepositoryDoc, b: RepositoryDoc): number {
  return (b.createdAt ?? '').localeCompare(a.createdAt ?? '') || a.repoId.localeCompare(b.repoId);
}

/** Live list of the user's registrations, newest first. */
export function subscribeRepositories(
  uid: string,
  onData: (repos: RepositoryDoc[]) => void,
  onError: (e: Error) => void,
): Unsubscribe {
  const q = query(
    collection(getDb(), 'repositories').withConverter(repositoryConverter),
    where('ownerId', '==', uid),
  );
  return onSnapshot(
    q,
    (snap) => deliver(() => snap.docs.map((d) => d.data()).sort(byNewest), onData, onError),
    onError,
  );
}

/** "main@3f2a9c1d0e4b" style: the ref (or default branch) and the short commit. */
export function shortCommit(commit: string | null | undefined): string {
  return commit ? commit.slice(0, 12) : '';
}
