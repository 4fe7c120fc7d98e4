import { Timestamp, type SnapshotOptions } from 'firebase/firestore';
import { describe, expect, it, vi } from 'vitest';
import {
  actionConverter,
  actionFromSnapshot,
  actionToFirestore,
  aecConverter,
  aecFromSnapshot,
  aecToFirestore,
  deliver,
  DocumentShapeError,
  toJsonValue,
  type SnapshotLike,
} from '../src/converters';

const T0 = Timestamp.fromMillis(Date.UTC(2025, 0, 1, 0, 0, 0, 250));
const ISO0 = '2025-01-01T00:00:00.250Z';

function snapshot(path: string, data: Record<string, unknown>) {
  const seen: (SnapshotOptions | undefined)[] = [];
  const snap: SnapshotLike = {
    id: path.split('/').pop()!,
    ref: { path },
    data: (options?: SnapshotOptions) => {
      seen.push(options);
      return data;
    },
  };
  return { snap, seen };
}

/** A ticket as the server's Firestore adapter writes it: camelCase, timestamps. */
function serverTicket(): Record<string, unknown> {
  return {
    id: 'aec-1',
    ownerId: 'user-1',
    title: 'Export orders',
    description: '',
    repo: null,
    status: 'awaiting_review',
    locked: true,
    lockedBy: 'run-1',
    version: 4,
    createdAt: T0,
    updatedAt: T0,
    generationState: {
      runId: 'run-1',
      status: 'suspended',
      currentStep: 4,
      totalSteps: 11,
      steps: [{ index: 1, name: 'extract_intent', title: 'Extract intent', status: 'done',
        detail: '', startedAt: T0, finishedAt: T0 }],
      suspension: { kind: 'review', token: 'tok', findings: [], questions: [], draft: null,
        expiresAt: T0 },
      seq: 9,
      updatedAt: T0,
    },
  };
}

describe('toJsonValue', () => {
  it('turns timestamps into ISO strings at any depth and keeps everything else', () => {
    expect(toJsonValue({ a: [T0, { b: T0 }], n: 1, s: 'x', z: null })).toEqual({
      a: [ISO0, { b: ISO0 }],
      n: 1,
      s: 'x',
      z: null,
    });
  });
});

describe('aecConverter', () => {
  it('reads a server-written ticket with every timestamp as an ISO string', () => {
    const { snap, seen } = snapshot('aecs/aec-1', serverTicket());
    const aec = aecFromSnapshot(snap);
    expect(aec.createdAt).toBe(ISO0);
    expect(aec.generationState?.updatedAt).toBe(ISO0);
    expect(aec.generationState?.steps?.[0].startedAt).toBe(ISO0);
    expect(aec.generationState?.suspension?.expiresAt).toBe(ISO0);
    expect(aec.status).toBe('awaiting_review');
    expect(seen).toEqual([{ serverTimestamps: 'estimate' }]);
  });

  it('takes the id from the document path and reads the page-written draft', () => {
    const { snap } = snapshot('aecs/aec-9', {
      ownerId: 'user-1',
      title: 'New',
      description: 'd',
      repo: null,
      status: 'draft',
      locked: false,
      createdAt: T0,
      updatedAt: T0,
      version: 0,
    });
    expect(aecFromSnapshot(snap)).toMatchObject({ id: 'aec-9', status: 'draft', updatedAt: ISO0 });
  });

  it('refuses a document that is not a ticket, saying which and why', () => {
    const bad = { ...serverTicket(), status: 'archived' };
    expect(() => aecFromSnapshot(snapshot('aecs/aec-1', bad).snap)).toThrowError(
      new DocumentShapeError('aecs/aec-1', 'status "archived" is not a ticket status'),
    );
    const { ownerId: _owner, ...anonymous } = serverTicket();
    expect(() => aecFromSnapshot(snapshot('aecs/aec-1', anonymous).snap)).toThrow(
      'aecs/aec-1 is not a valid document: ownerId is missing',
    );
  });

  it('writes the fields it is given and is wired into the converter', () => {
    const draft = { id: 'a', ownerId: 'u', title: 't', status: 'draft' as const, version: 0 };
    expect(aecToFirestore(draft)).toEqual(draft);
    expect(aecConverter.fromFirestore).toBe(aecFromSnapshot);
  });
});

describe('actionConverter', () => {
  const written = { type: 'proceed', runId: 'run-1', token: 'tok', uid: 'user-1', createdAt: T0 };

  it('reads an action without a result yet', () => {
    const action = actionFromSnapshot(snapshot('aecs/a/actions/x', written).snap);
    expect(action).toEqual({ ...written, createdAt: ISO0 });
    expect(action.result).toBeUndefined();
  });

  it("reads the server's result with its time as an ISO string", () => {
    const result = { actionId: 'x', status: 'rejected', reason: 'stale token', runId: 'run-1', at: T0 };
    const action = actionFromSnapshot(snapshot('aecs/a/actions/x', { ...written, result }).snap);
    expect(action.result).toEqual({ ...result, at: ISO0 });
  });

  it('refuses a malformed result or answers', () => {
    const odd = { ...written, result: { actionId: 'x', status: 'maybe' } };
    expect(() => actionFromSnapshot(snapshot('aecs/a/actions/x', odd).snap)).toThrow(
      'result.status "maybe" is unknown',
    );
    const numbers = { ...written, type: 'answer', answers: { q1: 3 } };
    expect(() => actionFromSnapshot(snapshot('aecs/a/actions/x', numbers).snap)).toThrow(
      'answers must map question ids to text',
    );
  });

  it('writes exactly the fields the rules allow', () => {
    const createdAt = T0;
    expect(
      actionToFirestore({ type: 'skip', runId: 'r', token: 't', uid: 'u', createdAt: null,
        result: { actionId: 'x', status: 'accepted' } }),
    ).toEqual({ type: 'skip', runId: 'r', token: 't', uid: 'u', createdAt: null });
    expect(
      actionToFirestore({ type: 'answer', runId: 'r', token: 't', uid: 'u', createdAt,
        answers: { q1: 'CSV' } }),
    ).toEqual({ type: 'answer', runId: 'r', token: 't', uid: 'u', createdAt, answers: { q1: 'CSV' } });
    expect(actionConverter.fromFirestore).toBe(actionFromSnapshot);
  });
});

describe('deliver', () => {
  it('hands the value on, or the error of reading it', () => {
    const onData = vi.fn();
    const onError = vi.fn();
    deliver(() => 1, onData, onError);
    expect(onData).toHaveBeenCalledWith(1);
    deliver(() => {
      throw new DocumentShapeError('aecs/x', 'title is missing');
    }, onData, onError);
    expect(onError).toHaveBeenCalledWith(new DocumentShapeError('aecs/x', 'title is missing'));
    expect(onData).toHaveBeenCalledTimes(1);
  });
});
