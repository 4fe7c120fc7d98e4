import { describe, expect, it } from 'vitest';
import type { AecStatus } from '../src/types';
import {
  applySnapshot,
  EMPTY_VIEW,
  fromSnapshot,
  isStale,
  normalizeSteps,
  workflowStateOf,
  type WorkflowState,
} from '../src/workflow/reducer';
import { aec, FINDINGS, QUESTIONS, runState } from './fixtures';

describe('workflowStateOf', () => {
  const cases: [AecStatus, WorkflowState][] = [
    ['draft', 'idle'],
    ['generating', 'running'],
    ['awaiting_review', 'suspended'],
    ['awaiting_answers', 'suspended'],
    ['ready', 'complete'],
    ['failed', 'failed'],
    ['cancelled', 'idle'],
  ];
  it.each(cases)('status %s -> %s', (status, expected) => {
    expect(workflowStateOf(status)).toBe(expected);
    expect(fromSnapshot(aec(status)).workflowState).toBe(expected);
  });

  it('falls back to the run status when the status is unknown', () => {
    expect(workflowStateOf(null, runState({ status: 'suspended' }))).toBe('suspended');
    expect(workflowStateOf(undefined, runState({ status: 'completed' }))).toBe('complete');
    expect(workflowStateOf(undefined, runState({ status: 'failed' }))).toBe('failed');
    expect(workflowStateOf(undefined, null)).toBe('idle');
  });
});

describe('fromSnapshot', () => {
  it('derives a running view', () => {
    const v = fromSnapshot(aec('generating'));
    expect(v.aecId).toBe('aec-1');
    expect(v.runId).toBe('run-1');
    expect(v.currentStep).toBe(3);
    expect(v.totalSteps).toBe(11);
    expect(v.steps).toHaveLength(11);
    expect(v.steps[2].status).toBe('running');
    expect(v.token).toBe('');
    expect(v.locked).toBe(true);
    expect(v.seq).toBe(5);
  });

  it('takes findings and token from a review suspension', () => {
    const v = fromSnapshot(aec('awaiting_review'));
    expect(v.suspension?.kind).toBe('review');
    expect(v.token).toBe('tok-review');
    expect(v.findings).toEqual(FINDINGS);
  });

  it('takes questions and draft from a questions suspension', () => {
    const v = fromSnapshot(aec('awaiting_answers'));
    expect(v.token).toBe('tok-questions');
    expect(v.questions).toEqual(QUESTIONS);
    expect(v.draft?.acceptanceCriteria).toEqual(['Admins can export orders']);
  });

  it('uses the ticket content once ready and flags offline generation', () => {
    const v = fromSnapshot(aec('ready'));
    expect(v.workflowState).toBe('complete');
    expect(v.findings).toEqual(FINDINGS);
    expect(v.suspension).toBeNull();
    expect(v.offline).toBe(true);
  });

  it('flags offline from the run provider too', () => {
    const v = fromSnapshot(
      aec('generating', { generationState: runState({ provider: { name: 'x', offline: true } }) }),
    );
    expect(v.offline).toBe(true);
    const online = fromSnapshot(
      aec('generating', {
        generationState: runState({ provider: { name: 'claude', offline: false, model: 'm' } }),
      }),
    );
    expect(online.offline).toBe(false);
    expect(online.provider?.name).toBe('claude');
  });

  it('carries the persisted error of a failed run', () => {
    const v = fromSnapshot(aec('failed'));
    expect(v.error?.code).toBe('repo_unreadable');
    expect(v.steps[3].status).toBe('failed');
  });

  it('uses the run error when the ticket has none', () => {
    const v = fromSnapshot(aec('failed', { error: null }));
    expect(v.error?.message).toBe('The repository could not be read');
  });

  it('marks a deleted ticket as missing', () => {
    const v = fromSnapshot(null, 'aec-9');
    expect(v.missing).toBe(true);
    expect(v.aecId).toBe('aec-9');
  });

  it('shows 11 waiting steps for a draft without a run', () => {
    const v = fromSnapshot(aec('draft'));
    expect(v.steps).toHaveLength(11);
    expect(v.steps.every((s) => s.status === 'waiting')).toBe(true);
    expect(v.workflowState).toBe('idle');
  });
});

describe('normalizeSteps', () => {
  it('pads missing steps and keeps given ones by index', () => {
    const rows = normalizeSteps(
      runState({ steps: [{ index: 2, name: 'extract_intent', title: '', status: 'done' }] }),
    );
    expect(rows).toHaveLength(11);
    expect(rows[0]).toMatchObject({ index: 1, status: 'waiting', title: 'Step 1' });
    expect(rows[1]).toMatchObject({ index: 2, status: 'done', title: 'extract_intent' });
  });
});

describe('seq is monotonic', () => {
  it('never moves the view back to an older snapshot of the same run', () => {
    const newer = applySnapshot(EMPTY_VIEW, aec('awaiting_review'));
    const older = aec('generating', {
      version: 3,
      generationState: runState({ seq: 4 }),
    });
    const after = applySnapshot(newer, older);
    expect(after).toBe(newer);
    expect(after.workflowState).toBe('suspended');
  });

  it('ignores a lower document version', () => {
    const cur = applySnapshot(EMPTY_VIEW, aec('ready', { version: 10 }));
    const old = aec('generating', { version: 9, generationState: runState({ runId: 'run-0', seq: 99 }) });
    expect(applySnapshot(cur, old)).toBe(cur);
  });

  it('accepts equal or higher seq and a new run', () => {
    const cur = applySnapshot(EMPTY_VIEW, aec('generating'));
    const same = applySnapshot(cur, aec('generating', { generationState: runState({ seq: 5, currentStep: 3 }) }));
    expect(same).not.toBe(cur);
    const next = applySnapshot(cur, aec('generating', { generationState: runState({ seq: 6, currentStep: 4 }) }));
    expect(next.currentStep).toBe(4);
    const newRun = applySnapshot(
      next,
      aec('generating', { version: 4, generationState: runState({ runId: 'run-2', seq: 0, currentStep: 1 }) }),
    );
    expect(newRun.runId).toBe('run-2');
    expect(newRun.currentStep).toBe(1);
  });

  it('always applies a deletion', () => {
    const cur = applySnapshot(EMPTY_VIEW, aec('awaiting_review'));
    const gone = applySnapshot(cur, null);
    expect(gone.missing).toBe(true);
  });

  it('isStale is false for another ticket', () => {
    const cur = fromSnapshot(aec('ready', { version: 10 }));
    const other = fromSnapshot(aec('draft', { id: 'aec-2', version: 0 }));
    expect(isStale(cur, other)).toBe(false);
  });
});
