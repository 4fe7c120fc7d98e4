import { beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('../src/actions', () => ({ writeAction: vi.fn(), watchActionResult: vi.fn() }));
vi.mock('../src/api', () => ({ startGeneration: vi.fn() }));

import { watchActionResult, writeAction } from '../src/actions';
import { startGeneration } from '../src/api';
import { cleanAnswers, useWorkflowStore } from '../src/workflow/store';
import { aec, runState } from './fixtures';
import { resetActionMocks, watchers } from './mocks';

const store = () => useWorkflowStore.getState();
const write = vi.mocked(writeAction);
const watch = vi.mocked(watchActionResult);

beforeEach(() => {
  resetActionMocks(write, watch);
  vi.mocked(startGeneration).mockReset();
  store().open(null);
  store().open('aec-1');
});

describe('ingest', () => {
  it('maps every status to the workflow state', () => {
    const expected = {
      draft: 'idle',
      generating: 'running',
      awaiting_review: 'suspended',
      awaiting_answers: 'suspended',
      ready: 'complete',
      failed: 'failed',
      cancelled: 'idle',
    } as const;
    for (const [status, state] of Object.entries(expected)) {
      store().open(null);
      store().open('aec-1');
      store().ingest(aec(status as keyof typeof expected));
      expect(store().workflowState).toBe(state);
    }
  });

  it('exposes the story interface', () => {
    store().ingest(aec('awaiting_review'));
    const s = store();
    expect(s.currentStep).toBe(6);
    expect(s.totalSteps).toBe(11);
    expect(s.findings.map((f) => f.id)).toEqual(['f-info', 'f-crit']);
    expect(s.questions).toEqual([]);
    expect(s.answers).toEqual({});
    expect(typeof s.resumeWorkflow).toBe('function');
    expect(typeof s.submitAnswers).toBe('function');
    expect(typeof s.skipQuestions).toBe('function');
  });

  it('never moves back on an older snapshot (seq)', () => {
    store().ingest(aec('generating', { generationState: runState({ seq: 8, currentStep: 5 }) }));
    store().ingest(aec('generating', { generationState: runState({ seq: 7, currentStep: 4 }) }));
    expect(store().currentStep).toBe(5);
    store().ingest(aec('generating', { generationState: runState({ seq: 9, currentStep: 6 }) }));
    expect(store().currentStep).toBe(6);
  });

  it('ignores snapshots of another ticket', () => {
    store().ingest(aec('generating'));
    store().ingest(aec('ready', { id: 'aec-other' }));
    expect(store().workflowState).toBe('running');
  });

  it('keeps answers across navigation and later snapshots of the same suspension', () => {
    store().ingest(aec('awaiting_answers'));
    store().setAnswer('q1', 'CSV');
    store().nextQuestion();
    store().setAnswer('q2', 'Admins');
    store().nextQuestion();
    expect(store().questionIndex).toBe(2);
    store().previousQuestion();
    store().previousQuestion();
    expect(store().questionIndex).toBe(0);
    expect(store().answers).toEqual({ q1: 'CSV', q2: 'Admins' });
    // a re-delivered snapshot of the same suspension keeps local answers
    const again = aec('awaiting_answers');
    again.generationState = { ...again.generationState!, seq: 13 };
    store().ingest(again);
    expect(store().answers).toEqual({ q1: 'CSV', q2: 'Admins' });
  });

  it('clamps the question index', () => {
    store().ingest(aec('awaiting_answers'));
    store().previousQuestion();
    expect(store().questionIndex).toBe(0);
    store().setQuestionIndex(99);
    expect(store().questionIndex).toBe(2);
  });

  it('resets answers for a new suspension', () => {
    store().ingest(aec('awaiting_answers'));
    store().setAnswer('q1', 'CSV');
    const next = aec('awaiting_answers');
    next.generationState = {
      ...next.generationState!,
      seq: 14,
      suspension: { ...next.generationState!.suspension!, token: 'tok-2' },
    };
    store().ingest(next);
    expect(store().answers).toEqual({});
    expect(store().token).toBe('tok-2');
  });
});

describe('actions', () => {
  it('resumeWorkflow writes the action with runId and token', async () => {
    store().ingest(aec('awaiting_review'));
    for (const action of ['proceed', 'edit', 'cancel'] as const) {
      await store().resumeWorkflow(action);
      expect(write).toHaveBeenLastCalledWith('aec-1', { type: action, runId: 'run-1', token: 'tok-review' });
    }
  });

  it('submitAnswers sends the non-empty answers', async () => {
    store().ingest(aec('awaiting_answers'));
    store().setAnswer('q1', ' CSV ');
    store().setAnswer('q2', '   ');
    await store().submitAnswers();
    expect(write).toHaveBeenCalledWith('aec-1', {
      type: 'answer',
      runId: 'run-1',
      token: 'tok-questions',
      answers: { q1: 'CSV' },
    });
  });

  it('skipQuestions writes a skip action', async () => {
    store().ingest(aec('awaiting_answers'));
    await store().skipQuestions();
    expect(write).toHaveBeenCalledWith('aec-1', { type: 'skip', runId: 'run-1', token: 'tok-questions' });
  });

  it('abortGeneration writes an abort with an empty token', async () => {
    store().ingest(aec('generating'));
    await store().abortGeneration();
    expect(write).toHaveBeenCalledWith('aec-1', { type: 'abort', runId: 'run-1', token: '' });
  });

  it('shows the reason of a rejected action', async () => {
    store().ingest(aec('awaiting_review'));
    await store().resumeWorkflow('proceed');
    expect(store().pending).toEqual({ id: 'action-1', type: 'proceed' });
    const w = watchers.get('action-1')!;
    w.onResult({ status: 'rejected', reason: 'stale token', actionId: 'action-1' });
    expect(store().pending).toBeNull();
    expect(store().rejection).toEqual({ type: 'proceed', reason: 'stale token' });
    expect(w.unsubscribe).toHaveBeenCalled();
  });

  it('records an accepted action', async () => {
    store().ingest(aec('awaiting_review'));
    await store().resumeWorkflow('cancel');
    watchers.get('action-1')!.onResult({ actionId: 'action-1', status: 'accepted' });
    expect(store().accepted).toEqual({ id: 'action-1', type: 'cancel' });
    expect(store().rejection).toBeNull();
  });

  it('shows a failed write as a rejection', async () => {
    store().ingest(aec('awaiting_review'));
    write.mockRejectedValueOnce(new Error('permission-denied'));
    await store().resumeWorkflow('proceed');
    expect(store().rejection?.reason).toBe('permission-denied');
    expect(store().pending).toBeNull();
  });

  it('does nothing without a run', async () => {
    store().ingest(aec('draft'));
    await store().resumeWorkflow('proceed');
    await store().skipQuestions();
    expect(write).not.toHaveBeenCalled();
  });

  it('startGeneration keeps the API error message', async () => {
    vi.mocked(startGeneration).mockRejectedValueOnce(new Error('ticket is locked'));
    expect(await store().startGeneration()).toBe(false);
    expect(store().apiError).toBe('ticket is locked');
    vi.mocked(startGeneration).mockResolvedValueOnce('run-2');
    expect(await store().startGeneration()).toBe(true);
    expect(store().apiError).toBeNull();
  });
});

describe('cleanAnswers', () => {
  it('drops empty answers and trims', () => {
    expect(cleanAnswers({ a: ' x ', b: '', c: '  ' })).toEqual({ a: 'x' });
  });
});
