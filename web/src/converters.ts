/**
 * Firestore converters of the page's two documents: the ticket `aecs/{aecId}` and an
 * action `aecs/{aecId}/actions/{actionId}`.
 *
 * Reading, a converter turns Firestore's values into the JSON form that the
 * generated types describe (the form of the server's `doc()`): every timestamp
 * becomes an ISO string (a pending server timestamp is estimated), and the fields
 * the page keys on are checked, so a document of the wrong shape is a clear
 * `DocumentShapeError` instead of a screen that silently misbehaves. Writing, it
 * passes exactly the fields the page may write (the rules check the rest).
 */
import {
  Timestamp,
  type DocumentData,
  type FirestoreDataConverter,
  type PartialWithFieldValue,
  type QueryDocumentSnapshot,
  type SnapshotOptions,
} from 'firebase/firestore';
import type { ActionDoc, ActionResult, ActionType, AecDoc, AecStatus } from './types';

/** A stored document that does not have the shape its model gives it. */
export class DocumentShapeError extends Error {
  constructor(
    public readonly path: string,
    public readonly problem: string,
  ) {
    super(`${path} is not a valid document: ${problem}`);
    this.name = 'DocumentShapeError';
  }
}

/** What a converter needs of a snapshot (the SDK passes a full `QueryDocumentSnapshot`). */
export type SnapshotLike = Pick<QueryDocumentSnapshot, 'id' | 'data'> & {
  ref: { path: string };
};

type Fields = Record<string, unknown>;

// Record<Union, true> makes the compiler check each list against the generated union.
const AEC_STATUSES: Record<AecStatus, true> = {
  draft: true,
  generating: true,
  awaiting_review: true,
  awaiting_answers: true,
  ready: true,
  failed: true,
  cancelled: true,
};
const ACTION_TYPES: Record<ActionType, true> = {
  proceed: true,
  edit: true,
  cancel: true,
  answer: true,
  skip: true,
  abort: true,
};
const RESULT_STATUSES: Record<ActionResult['status'], true> = { accepted: true, rejected: true };

function isFields(value: unknown): value is Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function oneOf(allowed: Record<string, true>, value: unknown): boolean {
  return typeof value === 'string' && Object.hasOwn(allowed, value);
}

function optionalString(value: unknown): boolean {
  return value === undefined || value === null || typeof value === 'string';
}

/** Firestore values → JSON values: timestamps become ISO strings, maps and arrays are walked. */
export function toJsonValue(value: unknown): unknown {
  if (value instanceof Timestamp) return value.toDate().toISOString();
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (isFields(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonValue(v)]));
  }
  return value;
}

function aecProblem(d: Fields): string | null {
  if (typeof d.ownerId !== 'string') return 'ownerId is missing';
  if (typeof d.title !== 'string') return 'title is missing';
  if (!oneOf(AEC_STATUSES, d.status)) {
    return `status ${JSON.stringify(d.status)} is not a ticket status`;
  }
  return null;
}

function isAecDoc(d: Fields): d is Fields & AecDoc {
  return aecProblem(d) === null;
}

function resultProblem(r: unknown): string | null {
  if (r === undefined || r === null) return null;
  if (!isFields(r)) return 'result is not a map';
  if (typeof r.actionId !== 'string') return 'result.actionId is missing';
  if (!oneOf(RESULT_STATUSES, r.status)) {
    return `result.status ${JSON.stringify(r.status)} is unknown`;
  }
  if (!optionalString(r.reason) || !optionalString(r.runId) || !optionalString(r.at)) {
    return 'result.reason, runId and at must be text';
  }
  return null;
}

function actionProblem(d: Fields): string | null {
  if (!oneOf(ACTION_TYPES, d.type)) return `type ${JSON.stringify(d.type)} is not an action`;
  if (typeof d.runId !== 'string') return 'runId is missing';
  if (typeof d.token !== 'string') return 'token is missing';
  if (typeof d.uid !== 'string') return 'uid is missing';
  if (d.createdAt !== null && typeof d.createdAt !== 'string') return 'createdAt is missing';
  if (d.answers !== undefined) {
    const answers = d.answers;
    if (!isFields(answers) || !Object.values(answers).every((a) => typeof a === 'string')) {
      return 'answers must map question ids to text';
    }
  }
  return resultProblem(d.result);
}

function isActionDoc(d: Fields): d is Fields & ActionDoc {
  return actionProblem(d) === null;
}

function readFields(snapshot: SnapshotLike, options?: SnapshotOptions): Fields {
  const json = toJsonValue(snapshot.data({ serverTimestamps: 'estimate', ...options }));
  if (!isFields(json)) throw new DocumentShapeError(snapshot.ref.path, 'it is not a map');
  return json;
}

/** A ticket document from its snapshot (its id is the document's id). */
export function aecFromSnapshot(snapshot: SnapshotLike, options?: SnapshotOptions): AecDoc {
  const data = { ...readFields(snapshot, options), id: snapshot.id };
  if (!isAecDoc(data)) throw new DocumentShapeError(snapshot.ref.path, aecProblem(data) ?? '');
  return data;
}

/** An action document from its snapshot. */
export function actionFromSnapshot(snapshot: SnapshotLike, options?: SnapshotOptions): ActionDoc {
  const data = readFields(snapshot, options);
  if (!isActionDoc(data)) {
    throw new DocumentShapeError(snapshot.ref.path, actionProblem(data) ?? '');
  }
  return data;
}

/** The fields of a ticket that the page writes (a new draft; edits go through `updateDoc`). */
export function aecToFirestore(aec: PartialWithFieldValue<AecDoc>): DocumentData {
  return { ...aec };
}

/** The fields of an action that the page writes; `result` is the server's alone. */
export function actionToFirestore(action: PartialWithFieldValue<ActionDoc>): DocumentData {
  const data: DocumentData = {
    type: action.type,
    runId: action.runId,
    token: action.token,
    uid: action.uid,
    createdAt: action.createdAt,
  };
  if (action.answers !== undefined) data.answers = action.answers;
  return data;
}

export const aecConverter: FirestoreDataConverter<AecDoc> = {
  toFirestore: aecToFirestore,
  fromFirestore: aecFromSnapshot,
};

export const actionConverter: FirestoreDataConverter<ActionDoc> = {
  toFirestore: actionToFirestore,
  fromFirestore: actionFromSnapshot,
};

/**
 * Hand `read()` (a conversion inside a snapshot listener) to `onData`, or its error
 * to `onError`: a throw inside a listener would be lost in the SDK.
 */
export function deliver<T>(
  read: () => T,
  onData: (value: T) => void,
  onError: (e: Error) => void,
): void {
  let value: T;
  try {
    value = read();
  } catch (e) {
    onError(e instanceof Error ? e : new Error(String(e)));
    return;
  }
  onData(value);
}
