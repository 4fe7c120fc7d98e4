import type {
  AecDoc,
  AecStatus,
  Finding,
  GenerationState,
  Question,
  StepProgress,
  StepStatus,
} from '../src/types';

export const STEP_NAMES = [
  'load_request',
  'extract_intent',
  'detect_type',
  'index_repo',
  'validate_against_repo',
  'review_findings',
  'generate_draft',
  'generate_questions',
  'await_answers',
  'refine_draft',
  'finalize',
];

export function steps(statuses: StepStatus[]): StepProgress[] {
  return statuses.map((status, i) => ({
    index: i + 1,
    name: STEP_NAMES[i] ?? `s${i + 1}`,
    title: `Title ${i + 1}`,
    status,
    detail: status === 'running' ? `working on ${i + 1}` : '',
    startedAt: status === 'waiting' ? null : new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
    finishedAt:
      status === 'done' || status === 'skipped' || status === 'degraded'
        ? new Date(Date.UTC(2025, 0, 1, 0, 0, i + 1)).toISOString()
        : null,
  }));
}

export const FINDINGS: Finding[] = [
  {
    id: 'f-info',
    kind: 'risky_area',
    severity: 'info',
    evidence: 'src/billing.py',
    message: 'Billing is touched',
    suggestion: null,
  },
  {
    id: 'f-crit',
    kind: 'missing_file',
    severity: 'critical',
    evidence: 'src/export/csv.py',
    message: 'File src/export/csv.py does not exist',
    suggestion: 'Did you mean src/exports/csv_writer.py?',
  },
];

export const QUESTIONS: Question[] = [
  { id: 'q1', text: 'Which formats?', why: 'Scope', choices: ['CSV', 'JSON'] },
  { id: 'q2', text: 'Who can export?', why: 'Permissions', choices: [] },
  { id: 'q3', text: 'Any size limit?', why: '', choices: ['None', '10k rows'] },
];

export function runState(overrides: Partial<GenerationState> = {}): GenerationState {
  return {
    runId: 'run-1',
    status: 'running',
    currentStep: 3,
    totalSteps: 11,
    steps: steps(['done', 'done', 'running', ...Array(8).fill('waiting')]),
    suspension: null,
    error: null,
    provider: { name: 'offline', offline: true, model: null },
    seq: 5,
    updatedAt: '2025-01-01T00:00:05Z',
    ...overrides,
  };
}

export function aec(status: AecStatus, overrides: Partial<AecDoc> = {}): AecDoc {
  const base: AecDoc = {
    id: 'aec-1',
    ownerId: 'user-1',
    title: 'Export orders as CSV',
    description: 'Let admins export orders',
    repo: 'examples/shop',
    status,
    locked: ['generating', 'awaiting_review', 'awaiting_answers'].includes(status),
    lockedBy: null,
    version: 3,
    createdAt: '2025-01-01T00:00:00Z',
    updatedAt: '2025-01-01T00:00:05Z',
    generationState: null,
  };
  switch (status) {
    case 'generating':
      base.generationState = runState();
      break;
    case 'awaiting_review':
      base.generationState = runState({
        status: 'suspended',
        currentStep: 6,
        steps: steps(['done', 'done', 'done', 'done', 'done', 'suspended', ...Array(5).fill('waiting')]),
        suspension: { kind: 'review', token: 'tok-review', findings: FINDINGS, questions: [] },
        seq: 9,
      });
      break;
    case 'awaiting_answers':
      base.generationState = runState({
        status: 'suspended',
        currentStep: 9,
        steps: steps([...Array(8).fill('done'), 'suspended', 'waiting', 'waiting']),
        suspension: {
          kind: 'questions',
          token: 'tok-questions',
          questions: QUESTIONS,
          findings: [],
          draft: {
            acceptanceCriteria: ['Admins can export orders'],
            assumptions: ['CSV is enough'],
            repoPaths: ['src/orders/views.py'],
          },
        },
        seq: 12,
      });
      break;
    case 'ready':
      base.generationState = runState({
        status: 'completed',
        currentStep: 11,
        steps: steps(Array(11).fill('done')),
        seq: 20,
      });
      Object.assign(base, {
        type: 'feature',
        typeConfidence: 0.9,
        intent: { goal: 'Export orders', actors: ['admin'], constraints: [], inScope: [], outOfScope: [] },
        acceptanceCriteria: ['Admins can export orders as CSV', 'Export includes totals'],
        assumptions: ['Only admins'],
        repoPaths: ['src/orders/views.py'],
        findings: FINDINGS,
        questions: QUESTIONS,
        answers: { q1: 'CSV' },
        refinements: [{ questionId: 'q1', answer: 'CSV', change: 'Limited the export to CSV' }],
        generatedBy: { name: 'offline', offline: true, model: null },
      });
      break;
    case 'failed':
      base.generationState = runState({
        status: 'failed',
        currentStep: 4,
        steps: steps(['done', 'done', 'done', 'failed', ...Array(7).fill('waiting')]),
        error: { code: 'repo_unreadable', message: 'The repository could not be read', step: 4, retryable: true },
        seq: 7,
      });
      base.error = { code: 'repo_unreadable', message: 'The repository could not be read', step: 4, retryable: true };
      break;
    default:
      break;
  }
  return { ...base, ...overrides };
}
